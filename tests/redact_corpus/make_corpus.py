#!/usr/bin/env python3
"""Writes the labelled secret corpus: corpus.jsonl (one spec 002 record per case),
corpus.labels.jsonl (one label per record, same order) and README.md (the kinds table).

Every secret is a synthetic random value with the documented SHAPE of its kind (prefix,
length, alphabet, checksum where documented); none is a live credential or a published
example key. Fixed seed: running it again gives byte-identical files.

    python3 tests/redact_corpus/make_corpus.py            # rewrite the files
    python3 tests/redact_corpus/make_corpus.py --check    # exit 1 if the files are stale
"""
import base64
import binascii
import hashlib
import json
import os
import random
import re
import sys
import urllib.parse

SEED = 20260119
HERE = os.path.dirname(os.path.abspath(__file__))
R = random.Random(SEED)

UP = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LO = "abcdefghijklmnopqrstuvwxyz"
DIG = "0123456789"
AN = UP + LO + DIG
ANL = LO + DIG
ANU = UP + DIG
HEX = "0123456789abcdef"
HEXU = "0123456789ABCDEF"
B64 = UP + LO + DIG + "+/"
B64U = UP + LO + DIG + "-_"
B32 = UP + "234567"
B62 = DIG + UP + LO  # the digit order GitHub's token checksum uses


def s(alpha, n, m=None):
    """n (or n..m) random characters of alpha."""
    if m is not None:
        n = R.randint(n, m)
    return "".join(R.choice(alpha) for _ in range(n))


def b64(raw):
    return base64.b64encode(raw).decode()


def b64url(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def rnd_bytes(n):
    return bytes(R.randrange(256) for _ in range(n))


def uuid4():
    h = s(HEX, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{R.choice('89ab')}{h[17:20]}-{h[20:32]}"


def base62(n, width):
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out.rjust(width, "0")


def github_token(prefix, n=30):
    body = s(AN, n)
    return prefix + body + base62(binascii.crc32(body.encode()), 6)


BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def bech32_encode(hrp, data):
    def polymod(values):
        gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
        chk = 1
        for v in values:
            b = chk >> 25
            chk = (chk & 0x1FFFFFF) << 5 ^ v
            for i in range(5):
                chk ^= gen[i] if ((b >> i) & 1) else 0
        return chk

    acc, bits, five = 0, 0, []
    for byte in data:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            five.append((acc >> bits) & 31)
    if bits:
        five.append((acc << (5 - bits)) & 31)
    expand = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = polymod(expand + five + [0] * 6) ^ 1
    chk = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32[d] for d in five + chk)


def jwt(claims=None):
    header = b64url(json.dumps({"alg": R.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}).encode())
    claims = claims or {"sub": s(ANL, 12), "iat": 1767000000 + R.randrange(10**6), "scope": "repo:write"}
    sig = b64url(rnd_bytes(R.choice([32, 64, 256])))
    return f"{header}.{b64url(json.dumps(claims).encode())}.{sig}"


def pem(label, nbytes):
    body = b64(rnd_bytes(nbytes))
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


def password():
    """A human-made password: mixed classes, not a dictionary word."""
    words = ["Tr0ub4dor", "Blu3Whale", "Mango", "K1wi", "Orbit", "Zephyr", "Quartz", "Nimbus"]
    return R.choice(words) + R.choice("!#%&*$@") + s(AN, 6, 10) + s(DIG, 2)


# ---------------------------------------------------------------------------------------------
# Positive kinds. Each kind: id, a generator returning (text, secret) where text holds the
# secret as it would appear in a log, the env-var-style name used in snippets, whether the
# secret can sit in a URI path, and the source of its shape.
KINDS = []


def kind(kid, source, var, uri=True, examples=2):
    def wrap(fn):
        KINDS.append({"id": kid, "gen": fn, "source": source, "var": var, "uri": uri, "n": examples})
        return fn
    return wrap


def token_kind(kid, source, var, make, uri=True, ctx=None, examples=2):
    """A self-identifying token; ctx, when given, formats the text around it."""
    def gen():
        t = make()
        return (ctx.format(t=t) if ctx else t), t
    KINDS.append({"id": kid, "gen": gen, "source": source, "var": var, "uri": uri, "n": examples})


AWS_IDS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids"
token_kind("aws-access-key-id", AWS_IDS + " (AKIA + 16 of [A-Z2-7])", "AWS_ACCESS_KEY_ID", lambda: "AKIA" + s(B32, 16))
token_kind("aws-temporary-access-key-id", AWS_IDS + " (ASIA + 16 of [A-Z2-7])", "AWS_ACCESS_KEY_ID", lambda: "ASIA" + s(B32, 16))
token_kind("aws-secret-access-key", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html (40 base64 chars; needs the name)",
           "AWS_SECRET_ACCESS_KEY", lambda: s(B64, 40), uri=False, ctx="aws_secret_access_key = {t}")
token_kind("aws-session-token", "https://docs.aws.amazon.com/STS/latest/APIReference/API_Credentials.html (opaque base64, IQoJb3JpZ2luX2Vj... for v2 tokens)",
           "AWS_SESSION_TOKEN", lambda: "IQoJb3JpZ2luX2Vj" + s(B64, 300, 380), uri=False, ctx="export AWS_SESSION_TOKEN={t}")
token_kind("aws-mws-auth-token", "https://developer-docs.amazon.com/amazon-shipping/docs/mws-auth-token (amzn.mws. + UUID)", "MWS_AUTH_TOKEN",
           lambda: "amzn.mws." + uuid4())
token_kind("aws-bedrock-api-key", "https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys.html (ABSK + base64 of the key material)",
           "AWS_BEARER_TOKEN_BEDROCK", lambda: "ABSK" + b64(b"BedrockAPIKey-" + s(ANL, 4).encode() + b"-at-" + s(DIG, 12).encode() + b":" + s(B64, 40).encode()),
           uri=False)

GH = "https://github.blog/engineering/platform-security/behind-githubs-new-authentication-token-formats/ (prefix + 30 base62 + 6-char base62 CRC32)"
token_kind("github-pat-classic", GH, "GITHUB_TOKEN", lambda: github_token("ghp_"))
token_kind("github-oauth-token", GH, "GH_OAUTH_TOKEN", lambda: github_token("gho_"))
token_kind("github-user-to-server-token", GH, "GH_USER_TOKEN", lambda: github_token("ghu_"))
token_kind("github-app-installation-token", GH, "GH_APP_TOKEN", lambda: github_token("ghs_"))
token_kind("github-refresh-token", GH + "; refresh tokens carry 76 characters", "GH_REFRESH_TOKEN", lambda: "ghr_" + s(AN, 76))
token_kind("github-fine-grained-pat", "https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens (github_pat_ + 22 + _ + 59)",
           "GITHUB_PAT", lambda: "github_pat_" + s(AN, 22) + "_" + s(AN, 59))
GL = "https://docs.gitlab.com/ee/security/tokens/#token-prefixes"
token_kind("gitlab-pat", GL + " (glpat- + 20 of [A-Za-z0-9_-])", "GITLAB_TOKEN", lambda: "glpat-" + s(B64U, 20))
token_kind("gitlab-pat-routable", GL + " (glpat- + base64 payload + .01. + 9-char CRC)", "GITLAB_TOKEN",
           lambda: "glpat-" + s(B64U, 27) + ".01." + s(ANL, 9))
token_kind("gitlab-pipeline-trigger-token", GL + " (glptt- + 40 hex)", "CI_TRIGGER_TOKEN", lambda: "glptt-" + s(HEX, 40))
token_kind("gitlab-runner-registration-token", GL + " (GR1348941 + 20)", "REGISTRATION_TOKEN", lambda: "GR1348941" + s(B64U, 20))
token_kind("gitlab-runner-auth-token", GL + " (glrt- + 20)", "RUNNER_TOKEN", lambda: "glrt-" + s(B64U, 20))
token_kind("gitlab-deploy-token", GL + " (gldt- + 20)", "DEPLOY_TOKEN", lambda: "gldt-" + s(B64U, 20))
token_kind("gitlab-feed-token", GL + " (glft- + 20)", "FEED_TOKEN", lambda: "glft-" + s(B64U, 20))
token_kind("gitlab-oauth-app-secret", GL + " (gloas- + 64)", "GITLAB_OAUTH_SECRET", lambda: "gloas-" + s(HEX, 64))
token_kind("gitlab-scim-token", GL + " (glsoat- + 20)", "SCIM_TOKEN", lambda: "glsoat-" + s(B64U, 20))
token_kind("gitlab-incoming-mail-token", GL + " (glimt- + 25)", "INCOMING_MAIL_TOKEN", lambda: "glimt-" + s(ANL, 25))
token_kind("gitlab-agent-token", GL + " (glagent- + 50)", "KAS_TOKEN", lambda: "glagent-" + s(B64U, 50))
token_kind("gitlab-ci-job-token", GL + " (glcbt- + 20)", "CI_JOB_TOKEN", lambda: "glcbt-" + s(HEX, 2) + "_" + s(B64U, 20))
token_kind("gitlab-feature-flag-client-token", GL + " (glffct- + 20)", "UNLEASH_TOKEN", lambda: "glffct-" + s(B64U, 20))

SL = "https://api.slack.com/authentication/token-types"
token_kind("slack-bot-token", SL + " (xoxb-<team>-<bot>-<24>)", "SLACK_BOT_TOKEN", lambda: f"xoxb-{s(DIG, 11, 13)}-{s(DIG, 12, 13)}-{s(AN, 24)}")
token_kind("slack-user-token", SL + " (xoxp-<team>-<user>-<id>-<32 hex>)", "SLACK_USER_TOKEN",
           lambda: f"xoxp-{s(DIG, 11, 13)}-{s(DIG, 11, 13)}-{s(DIG, 12, 13)}-{s(HEX, 32)}")
token_kind("slack-app-level-token", SL + " (xapp-1-A<id>-<digits>-<64 hex>)", "SLACK_APP_TOKEN",
           lambda: f"xapp-1-A{s(ANU, 10)}-{s(DIG, 13)}-{s(HEX, 64)}")
token_kind("slack-config-access-token", "https://api.slack.com/authentication/config-tokens (xoxe.xoxp-1-...)", "SLACK_CONFIG_TOKEN",
           lambda: "xoxe.xoxp-1-" + s(AN, 160))
token_kind("slack-config-refresh-token", "https://api.slack.com/authentication/config-tokens (xoxe-1-...)", "SLACK_CONFIG_REFRESH",
           lambda: "xoxe-1-" + s(AN, 146))


@kind("slack-webhook-url", "https://api.slack.com/messaging/webhooks (hooks.slack.com/services/T../B../<24>)", "SLACK_WEBHOOK_URL")
def _slack_hook():
    t = s(AN, 24)
    return f"https://hooks.slack.com/services/T{s(ANU, 10)}/B{s(ANU, 10)}/{t}", t


@kind("slack-workflow-webhook-url", "https://slack.com/help/articles/360041352714 (hooks.slack.com/triggers/T../<id>/<secret>)", "SLACK_TRIGGER_URL")
def _slack_trigger():
    t = s(HEX, 32)
    return f"https://hooks.slack.com/triggers/T{s(ANU, 10)}/{s(DIG, 13)}/{t}", t


ST = "https://docs.stripe.com/keys"
token_kind("stripe-live-secret-key", ST + " (sk_live_ + 24..99)", "STRIPE_SECRET_KEY", lambda: "sk_live_" + s(AN, 24, 99))
token_kind("stripe-test-secret-key", ST + " (sk_test_ + 24..99)", "STRIPE_SECRET_KEY", lambda: "sk_test_" + s(AN, 24, 99))
token_kind("stripe-restricted-key", ST + "#limit-access (rk_live_)", "STRIPE_RESTRICTED_KEY", lambda: "rk_live_" + s(AN, 24, 99))
token_kind("stripe-webhook-secret", "https://docs.stripe.com/webhooks#verify-events (whsec_ + 32)", "STRIPE_WEBHOOK_SECRET", lambda: "whsec_" + s(AN, 32))
TW = "https://www.twilio.com/docs/iam/api-keys"
token_kind("twilio-api-key-sid", TW + " (SK + 32 hex)", "TWILIO_API_KEY", lambda: "SK" + s(HEX, 32))
token_kind("twilio-auth-token", "https://www.twilio.com/docs/iam/credentials/api (32 hex; needs the name)", "TWILIO_AUTH_TOKEN",
           lambda: s(HEX, 32), uri=False, ctx="TWILIO_AUTH_TOKEN={t}")
token_kind("sendgrid-api-key", "https://www.twilio.com/docs/sendgrid/ui/account-and-settings/api-keys (SG.<22>.<43>)", "SENDGRID_API_KEY",
           lambda: "SG." + s(B64U, 22) + "." + s(B64U, 43))
token_kind("mailgun-private-key", "https://documentation.mailgun.com/docs/mailgun/user-manual/get-started/ (key- + 32 hex)", "MAILGUN_API_KEY",
           lambda: "key-" + s(HEX, 32))
token_kind("mailgun-signing-key", "https://documentation.mailgun.com/docs/mailgun/user-manual/tracking-messages/#securing-webhooks (32 hex + -8 hex + -8 hex)",
           "MAILGUN_WEBHOOK_SIGNING_KEY", lambda: f"{s(HEX, 32)}-{s(HEX, 8)}-{s(HEX, 8)}", uri=False, ctx="MAILGUN_WEBHOOK_SIGNING_KEY={t}")
token_kind("mailchimp-api-key", "https://mailchimp.com/developer/marketing/guides/quick-start/ (32 hex + -us<dc>)", "MAILCHIMP_API_KEY",
           lambda: s(HEX, 32) + "-us" + str(R.randint(1, 21)))
OA = "https://platform.openai.com/docs/api-reference/authentication"
token_kind("openai-legacy-key", OA + " (sk- + 20 + T3BlbkFJ + 20)", "OPENAI_API_KEY", lambda: "sk-" + s(AN, 20) + "T3BlbkFJ" + s(AN, 20))
token_kind("openai-project-key", OA + " (sk-proj- ... T3BlbkFJ ...)", "OPENAI_API_KEY", lambda: "sk-proj-" + s(B64U, 74) + "T3BlbkFJ" + s(B64U, 74))
token_kind("openai-service-account-key", OA + " (sk-svcacct- ... T3BlbkFJ ...)", "OPENAI_API_KEY", lambda: "sk-svcacct-" + s(B64U, 74) + "T3BlbkFJ" + s(B64U, 74))
token_kind("openai-admin-key", "https://platform.openai.com/docs/api-reference/administration (sk-admin- ... T3BlbkFJ ...)", "OPENAI_ADMIN_KEY",
           lambda: "sk-admin-" + s(B64U, 58) + "T3BlbkFJ" + s(B64U, 58))
AN_ = "https://docs.anthropic.com/en/api/getting-started (x-api-key: sk-ant-api03-...)"
token_kind("anthropic-api-key", AN_ + " (sk-ant-api03- + 93 + AA)", "ANTHROPIC_API_KEY", lambda: "sk-ant-api03-" + s(B64U, 93) + "AA")
token_kind("anthropic-admin-key", "https://docs.anthropic.com/en/api/administration-api (sk-ant-admin01- + 93 + AA)", "ANTHROPIC_ADMIN_KEY",
           lambda: "sk-ant-admin01-" + s(B64U, 93) + "AA")
token_kind("google-api-key", "https://cloud.google.com/docs/authentication/api-keys (AIza + 35 of [A-Za-z0-9_-])", "GOOGLE_API_KEY", lambda: "AIza" + s(B64U, 35))
token_kind("google-oauth-client-secret", "https://developers.google.com/identity/protocols/oauth2 (GOCSPX- + 28)", "GOOGLE_CLIENT_SECRET",
           lambda: "GOCSPX-" + s(B64U, 28))
token_kind("google-oauth-access-token", "https://developers.google.com/identity/protocols/oauth2 (ya29. + opaque)", "GOOGLE_ACCESS_TOKEN",
           lambda: "ya29." + s(B64U, 150, 200))
token_kind("google-oauth-refresh-token", "https://developers.google.com/identity/protocols/oauth2 (1// + opaque)", "GOOGLE_REFRESH_TOKEN",
           lambda: "1//0" + s(B64U, 99), ctx="refresh_token={t}")


@kind("gcp-service-account-key", "https://cloud.google.com/iam/docs/keys-create-delete (JSON key file with a PKCS#8 private_key)", "GOOGLE_APPLICATION_CREDENTIALS", uri=False)
def _gcp_sa():
    k = pem("PRIVATE KEY", 1190)
    body = k.split("\n")[1]
    text = json.dumps({"type": "service_account", "project_id": "corpus-" + s(ANL, 6), "private_key_id": s(HEX, 40),
                       "private_key": k + "\n", "client_email": "ci@corpus.iam.gserviceaccount.com"})
    return text, body


AZ = "https://learn.microsoft.com/en-us/azure/storage/common/storage-configure-connection-string"
token_kind("azure-storage-account-key", AZ + " (AccountKey: 88 base64)", "AZURE_STORAGE_CONNECTION_STRING", lambda: b64(rnd_bytes(64)), uri=False,
           ctx="DefaultEndpointsProtocol=https;AccountName=corpusstore;AccountKey={t};EndpointSuffix=core.windows.net")


@kind("azure-sas-token", "https://learn.microsoft.com/en-us/rest/api/storageservices/create-service-sas (sig= URL-encoded base64 HMAC)", "AZURE_SAS_URL")
def _azure_sas():
    sig = urllib.parse.quote(b64(rnd_bytes(32)), safe="")
    return (f"https://corpusstore.blob.core.windows.net/backups/db.bak?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2026-12-31T00:00:00Z"
            f"&st=2026-01-01T00:00:00Z&spr=https&sig={sig}"), sig


token_kind("azure-ad-client-secret", "https://learn.microsoft.com/en-us/entra/identity-platform/how-to-add-credentials (client secret value; 3 chars + digit + Q~ + 31-34)",
           "AZURE_CLIENT_SECRET", lambda: s(AN, 3) + s(DIG, 1) + "Q~" + s(AN + "_~.-", 34), uri=False, ctx="AZURE_CLIENT_SECRET={t}")
token_kind("azure-devops-pat", "https://learn.microsoft.com/en-us/azure/devops/organizations/accounts/use-personal-access-tokens-to-authenticate (52 of [a-z2-7]; needs the name)",
           "AZURE_DEVOPS_EXT_PAT", lambda: s("abcdefghijklmnopqrstuvwxyz234567", 52), uri=False, ctx="AZURE_DEVOPS_EXT_PAT={t}")
token_kind("azure-cosmosdb-key", "https://learn.microsoft.com/en-us/azure/cosmos-db/secure-access-to-data (AccountKey: 88 base64)", "COSMOS_CONNECTION_STRING",
           lambda: b64(rnd_bytes(64)), uri=False, ctx="AccountEndpoint=https://corpus-db.documents.azure.com:443/;AccountKey={t};")
token_kind("azure-service-bus-sas-key", "https://learn.microsoft.com/en-us/azure/service-bus-messaging/service-bus-sas (SharedAccessKey: 44 base64)",
           "SERVICEBUS_CONNECTION_STRING", lambda: b64(rnd_bytes(32)), uri=False,
           ctx="Endpoint=sb://corpus-ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={t}")


@kind("azure-functions-key", "https://learn.microsoft.com/en-us/azure/azure-functions/function-keys-how-to (?code=<key>)", "FUNCTION_URL")
def _azure_fn():
    k = s(B64U, 54) + "=="
    return f"https://corpus-fn.azurewebsites.net/api/ingest?code={urllib.parse.quote(k, safe='')}", urllib.parse.quote(k, safe="")


@kind("microsoft-teams-webhook-url", "https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook (…webhook.office.com/webhookb2/…)",
      "TEAMS_WEBHOOK_URL")
def _teams():
    t = s(HEX, 32)
    return (f"https://corpus.webhook.office.com/webhookb2/{uuid4()}@{uuid4()}/IncomingWebhook/{t}/{uuid4()}/V2{s(B64U, 44)}"), t


token_kind("npm-access-token", "https://github.blog/changelog/2021-09-23-npm-has-a-new-access-token-format/ (npm_ + 36)", "NPM_TOKEN", lambda: github_token("npm_"))
token_kind("pypi-upload-token", "https://pypi.org/help/#apitoken (pypi- + macaroon, AgEIcHlwaS5vcmc...)", "TWINE_PASSWORD",
           lambda: "pypi-AgEIcHlwaS5vcmc" + s(B64U, 70, 160))
token_kind("dockerhub-pat", "https://docs.docker.com/security/for-developers/access-tokens/ (dckr_pat_ + 27)", "DOCKERHUB_TOKEN", lambda: "dckr_pat_" + s(B64U, 27))
token_kind("dockerhub-org-access-token", "https://docs.docker.com/security/for-admins/access-tokens/ (dckr_oat_ + 32)", "DOCKER_OAT", lambda: "dckr_oat_" + s(B64U, 32))


@kind("telegram-bot-token", "https://core.telegram.org/bots/api#authorizing-your-bot (<bot id>:<35 chars>)", "TELEGRAM_BOT_TOKEN", uri=False)
def _telegram():
    t = f"{s(DIG, 1, 1).replace('0', '7')}{s(DIG, 8, 9)}:AA{s(B64U, 33)}"
    return t, t


@kind("telegram-bot-api-url", "https://core.telegram.org/bots/api#making-requests (api.telegram.org/bot<token>/METHOD)", "TELEGRAM_API_URL")
def _telegram_url():
    t = f"{R.randint(1, 9)}{s(DIG, 8, 9)}:AA{s(B64U, 33)}"
    return f"https://api.telegram.org/bot{t}/sendMessage?chat_id=-100{s(DIG, 10)}", t


@kind("discord-bot-token", "https://discord.com/developers/docs/reference#authentication (base64 user id . 6 . 27-38)", "DISCORD_BOT_TOKEN")
def _discord():
    uid = str(R.randint(10**17, 10**19 - 1)).encode()
    t = b64url(uid) + "." + s(B64U, 6) + "." + s(B64U, 38)
    return t, t


@kind("discord-webhook-url", "https://discord.com/developers/docs/resources/webhook#execute-webhook (/api/webhooks/<id>/<token>)", "DISCORD_WEBHOOK_URL")
def _discord_hook():
    t = s(B64U, 68)
    return f"https://{R.choice(['discord.com', 'discordapp.com'])}/api/webhooks/{s(DIG, 18, 19)}/{t}", t


token_kind("discord-client-secret", "https://discord.com/developers/docs/topics/oauth2 (32 chars; needs the name)", "DISCORD_CLIENT_SECRET",
           lambda: s(B64U, 32), uri=False, ctx="DISCORD_CLIENT_SECRET={t}")


@kind("sidekiq-enterprise-credentials", "https://github.com/sidekiq/sidekiq/wiki/Ent-Installation (BUNDLE_ENTERPRISE__CONTRIBSYS__COM=<8 hex>:<8 hex>)", "BUNDLE_ENTERPRISE__CONTRIBSYS__COM", uri=False)
def _sidekiq():
    t = s(HEX, 8) + ":" + s(HEX, 8)
    return f"BUNDLE_ENTERPRISE__CONTRIBSYS__COM={t}", t


@kind("sidekiq-gem-source-url", "https://github.com/sidekiq/sidekiq/wiki/Pro-Installation (https://<user>:<pass>@gems.contribsys.com/)", "GEM_SOURCE")
def _sidekiq_url():
    t = s(HEX, 8)
    return f"https://{s(HEX, 8)}:{t}@{R.choice(['gems', 'enterprise'])}.contribsys.com/", t


@kind("age-secret-key", "https://github.com/C2SP/C2SP/blob/main/age.md (Bech32, HRP AGE-SECRET-KEY-, 32 bytes, uppercase)", "SOPS_AGE_KEY")
def _age():
    t = bech32_encode("age-secret-key-", rnd_bytes(32)).upper()
    return t, t


token_kind("sourcegraph-access-token", "https://sourcegraph.com/docs/cli/how-tos/revoking_an_access_token (tokens start with sgp_; sgp_ + instance id + _ + 40 hex)", "SRC_ACCESS_TOKEN",
           lambda: "sgp_" + s(HEX, 16) + "_" + s(HEX, 40))
token_kind("sourcegraph-legacy-token", "https://sourcegraph.com/docs/cli/how-tos/revoking_an_access_token (sgp_ + 40 hex, the older form)", "SRC_ACCESS_TOKEN",
           lambda: "sgp_" + s(HEX, 40))
token_kind("flyio-macaroon-token", "https://fly.io/docs/security/tokens/ (FlyV1 fm2_...)", "FLY_API_TOKEN",
           lambda: "FlyV1 fm2_lJPE" + s(B64, 300, 400), uri=False)
token_kind("flyio-org-token", "https://fly.io/docs/security/tokens/ (fo1_ + 43)", "FLY_API_TOKEN", lambda: "fo1_" + s(B64U, 43))
token_kind("onepassword-service-account-token", "https://developer.1password.com/docs/service-accounts/ (ops_ + base64 JSON)", "OP_SERVICE_ACCOUNT_TOKEN",
           lambda: "ops_" + b64url(json.dumps({"signInAddress": "my.1password.com", "userAuth": {"method": "SRPg-4096", "alg": "PBES2g-HS256",
                                                                                                  "salt": s(B64U, 22)}, "email": s(ANL, 12) + "@1passwordserviceaccounts.com",
                                                 "srpX": s(HEX, 64), "muk": {"alg": "A256GCM", "ext": True, "k": s(B64U, 43), "kty": "oct", "kid": "mp"}}).encode()))
token_kind("onepassword-secret-key", "https://support.1password.com/secret-key/ (A3-XXXXXX-XXXXXX-XXXXX-XXXXX-XXXXX-XXXXX)", "OP_SECRET_KEY",
           lambda: "A3-" + "-".join(s(ANU, n) for n in (6, 6, 5, 5, 5, 5)))
token_kind("jfrog-api-key", "https://jfrog.com/help/r/jfrog-platform-administration-documentation/api-key (AKCp + 69)", "ARTIFACTORY_API_KEY", lambda: "AKCp" + s(AN, 69))
token_kind("artifactory-short-api-key", "https://jfrog.com/help/r/jfrog-platform-administration-documentation/api-key (AKC + base62; shorter than AKCp + 69 in older exports)",
           "ARTIFACTORY_API_KEY", lambda: "AKC" + s(AN, 40), ctx="X-JFrog-Art-Api: {t}")
token_kind("artifactory-encrypted-password", "https://jfrog.com/help/r/jfrog-platform-administration-documentation/using-your-secure-password (AP + hex digit + base62; needs Artifactory in the text)",
           "ARTIFACTORY_PASSWORD", lambda: "AP" + s(HEXU, 1) + s(AN, 50), uri=False, ctx="artifactory deploy: curl -H \"X-JFrog-Art-Api: {t}\" https://corp.jfrog.io/artifactory/libs/")
token_kind("jfrog-reference-token", "https://jfrog.com/help/r/jfrog-platform-administration-documentation/access-tokens (reference token: base64 'reftkn:01:' + ...)",
           "JFROG_ACCESS_TOKEN", lambda: "cmVmdGtuOjAxOj" + s(AN, 50))
token_kind("jfrog-access-token-jwt", "https://jfrog.com/help/r/jfrog-platform-administration-documentation/access-tokens (JWT access token)", "ARTIFACTORY_ACCESS_TOKEN",
           lambda: jwt({"ext": "{\"revocable\":\"true\"}", "sub": "jfac@" + s(ANL, 26) + "/users/ci", "scp": "applied-permissions/user", "aud": "*@*",
                        "iss": "jfac@" + s(ANL, 26), "exp": 1800000000, "iat": 1767000000, "jti": uuid4()}), uri=False)
SQ = "https://docs.sonarsource.com/sonarqube-server/latest/user-guide/managing-tokens/"
token_kind("sonarqube-user-token", SQ + " (squ_ + 40 hex)", "SONAR_TOKEN", lambda: "squ_" + s(HEX, 40))
token_kind("sonarqube-project-token", SQ + " (sqp_ + 40 hex)", "SONAR_TOKEN", lambda: "sqp_" + s(HEX, 40))
token_kind("sonarqube-global-token", SQ + " (sqa_ + 40 hex)", "SONAR_TOKEN", lambda: "sqa_" + s(HEX, 40))
token_kind("sonarcloud-token", "https://docs.sonarsource.com/sonarqube-cloud/advanced-setup/ci-based-analysis/ (40 hex; needs the name)", "SONAR_TOKEN",
           lambda: s(HEX, 40), uri=False, ctx="SONAR_TOKEN={t}")
token_kind("snyk-api-token", "https://docs.snyk.io/snyk-api/authentication-for-api (UUID; needs the name)", "SNYK_TOKEN", uuid4, uri=False, ctx="SNYK_TOKEN={t}")
HF = "https://huggingface.co/docs/hub/security-tokens"
token_kind("huggingface-user-token", HF + " (hf_ + 34 letters)", "HF_TOKEN", lambda: "hf_" + s(UP + LO, 34))
token_kind("huggingface-org-token", HF + " (api_org_ + 34 letters)", "HUGGINGFACE_ORG_TOKEN", lambda: "api_org_" + s(UP + LO, 34))
token_kind("heroku-api-key-v2", "https://devcenter.heroku.com/articles/authentication (HRKU- tokens)", "HEROKU_API_KEY", lambda: "HRKU-AA" + s(B64U, 58))
token_kind("heroku-api-key-uuid", "https://devcenter.heroku.com/articles/authentication (UUID; needs the name)", "HEROKU_API_KEY", uuid4, uri=False, ctx="HEROKU_API_KEY={t}")
DO = "https://docs.digitalocean.com/reference/api/create-personal-access-token/"
token_kind("digitalocean-pat", DO + " (dop_v1_ + 64 hex)", "DIGITALOCEAN_ACCESS_TOKEN", lambda: "dop_v1_" + s(HEX, 64))
token_kind("digitalocean-oauth-token", DO + " (doo_v1_ + 64 hex)", "DO_OAUTH_TOKEN", lambda: "doo_v1_" + s(HEX, 64))
token_kind("digitalocean-refresh-token", DO + " (dor_v1_ + 64 hex)", "DO_REFRESH_TOKEN", lambda: "dor_v1_" + s(HEX, 64))
SH = "https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens"
token_kind("shopify-admin-access-token", SH + " (shpat_ + 32 hex)", "SHOPIFY_ACCESS_TOKEN", lambda: "shpat_" + s(HEX, 32))
token_kind("shopify-custom-app-token", SH + " (shpca_ + 32 hex)", "SHOPIFY_ACCESS_TOKEN", lambda: "shpca_" + s(HEX, 32))
token_kind("shopify-private-app-token", SH + " (shppa_ + 32 hex)", "SHOPIFY_PASSWORD", lambda: "shppa_" + s(HEX, 32))
token_kind("shopify-shared-secret", SH + " (shpss_ + 32 hex)", "SHOPIFY_API_SECRET", lambda: "shpss_" + s(HEX, 32))
SQU = "https://developer.squareup.com/docs/build-basics/access-tokens"
token_kind("square-access-token", SQU + " (EAAA + 60)", "SQUARE_ACCESS_TOKEN", lambda: "EAAA" + s(B64U, 60))
token_kind("square-legacy-access-token", SQU + " (sq0atp- + 22)", "SQUARE_ACCESS_TOKEN", lambda: "sq0atp-" + s(B64U, 22))
token_kind("square-oauth-secret", "https://developer.squareup.com/docs/oauth-api/overview (sq0csp- + 43)", "SQUARE_APP_SECRET", lambda: "sq0csp-" + s(B64U, 43))
token_kind("pagerduty-api-key", "https://support.pagerduty.com/main/docs/api-access-keys (20 chars; needs the name)", "PAGERDUTY_TOKEN",
           lambda: "u+" + s(B64U, 18), uri=False, ctx="PAGERDUTY_TOKEN={t}")
token_kind("datadog-api-key", "https://docs.datadoghq.com/account_management/api-app-keys/ (32 hex; needs the name)", "DD_API_KEY", lambda: s(HEX, 32), uri=False,
           ctx="DD_API_KEY={t}")
token_kind("datadog-app-key", "https://docs.datadoghq.com/account_management/api-app-keys/ (40 hex; needs the name)", "DD_APP_KEY", lambda: s(HEX, 40), uri=False,
           ctx="DD_APPLICATION_KEY={t}")
NR = "https://docs.newrelic.com/docs/apis/intro-apis/new-relic-api-keys/"
token_kind("newrelic-user-key", NR + " (NRAK- + 27)", "NEW_RELIC_API_KEY", lambda: "NRAK-" + s(ANU, 27))
token_kind("newrelic-insert-key", NR + " (NRII- + 32)", "NEW_RELIC_INSERT_KEY", lambda: "NRII-" + s(B64U, 32))
token_kind("newrelic-license-key", NR + " (40 chars ending NRAL)", "NEW_RELIC_LICENSE_KEY", lambda: s(HEX, 36) + "NRAL")
token_kind("atlassian-api-token", "https://support.atlassian.com/atlassian-account/docs/manage-api-tokens-for-your-atlassian-account/ (ATATT3 + payload + = + 8 hex CRC)",
           "JIRA_API_TOKEN", lambda: (lambda p: p + "=" + format(binascii.crc32(p.encode()), "08X"))("ATATT3xFfGF0" + s(B64U, 170)))
token_kind("atlassian-legacy-api-token", "https://support.atlassian.com/atlassian-account/docs/manage-api-tokens-for-your-atlassian-account/ (24 chars; needs the name)",
           "CONFLUENCE_API_TOKEN", lambda: s(AN, 24), uri=False, ctx="CONFLUENCE_API_TOKEN={t}")
token_kind("bitbucket-access-token", "https://support.atlassian.com/bitbucket-cloud/docs/access-tokens/ (ATCTT3xFfGN0 + payload)", "BITBUCKET_TOKEN",
           lambda: "ATCTT3xFfGN0" + s(B64U, 170) + "=" + s(HEXU, 8))
token_kind("linear-api-key", "https://linear.app/developers/graphql#personal-api-keys (lin_api_ + 40)", "LINEAR_API_KEY", lambda: "lin_api_" + s(AN, 40))
token_kind("linear-oauth-token", "https://linear.app/developers/oauth-2-0-authentication (lin_oauth_ + 64 hex)", "LINEAR_OAUTH_TOKEN", lambda: "lin_oauth_" + s(HEX, 64))
token_kind("notion-integration-token", "https://developers.notion.com/docs/authorization (ntn_ + 46)", "NOTION_TOKEN", lambda: "ntn_" + s(DIG, 11) + s(AN, 35))
token_kind("notion-legacy-secret", "https://developers.notion.com/docs/authorization (secret_ + 43)", "NOTION_TOKEN", lambda: "secret_" + s(AN, 43))
token_kind("postman-api-key", "https://learning.postman.com/docs/developer/postman-api/authentication/ (PMAK-<24 hex>-<34 hex>)", "POSTMAN_API_KEY",
           lambda: f"PMAK-{s(HEX, 24)}-{s(HEX, 34)}")
VT = "https://developer.hashicorp.com/vault/docs/concepts/tokens#token-prefixes"
token_kind("vault-service-token", VT + " (hvs. + 90+)", "VAULT_TOKEN", lambda: "hvs." + s(B64U, 90, 110))
token_kind("vault-batch-token", VT + " (hvb. + 130+)", "VAULT_TOKEN", lambda: "hvb." + s(B64U, 138, 160))
token_kind("vault-legacy-token", VT + " (s. + 24; needs the name)", "VAULT_TOKEN", lambda: "s." + s(AN, 24), uri=False, ctx="VAULT_TOKEN={t}")
token_kind("databricks-pat", "https://docs.databricks.com/en/dev-tools/auth/pat.html (dapi + 32 hex)", "DATABRICKS_TOKEN", lambda: "dapi" + s(HEX, 32) + R.choice(["", "-2", "-3"]))
DP = "https://docs.doppler.com/docs/token-formats"
token_kind("doppler-personal-token", DP + " (dp.pt. + 43)", "DOPPLER_TOKEN", lambda: "dp.pt." + s(AN, 43))
token_kind("doppler-service-token", DP + " (dp.st.<config>. + 40)", "DOPPLER_TOKEN", lambda: "dp.st.prd." + s(AN, 40))
token_kind("doppler-cli-token", DP + " (dp.ct. + 40)", "DOPPLER_TOKEN", lambda: "dp.ct." + s(AN, 40))
token_kind("doppler-scim-token", DP + " (dp.scim. + 40)", "DOPPLER_SCIM_TOKEN", lambda: "dp.scim." + s(AN, 40))
token_kind("doppler-audit-token", DP + " (dp.audit. + 40)", "DOPPLER_AUDIT_TOKEN", lambda: "dp.audit." + s(AN, 40))
token_kind("pulumi-access-token", "https://www.pulumi.com/docs/pulumi-cloud/access-management/access-tokens/ (pul- + 40 hex)", "PULUMI_ACCESS_TOKEN", lambda: "pul-" + s(HEX, 40))
token_kind("terraform-cloud-token", "https://developer.hashicorp.com/terraform/cloud-docs/users-teams-organizations/api-tokens (<14>.atlasv1.<67>)", "TFE_TOKEN",
           lambda: s(AN, 14) + ".atlasv1." + s(AN, 67))
token_kind("grafana-service-account-token", "https://grafana.com/docs/grafana/latest/administration/service-accounts/ (glsa_ + 32 + _ + 8 hex)", "GRAFANA_TOKEN",
           lambda: "glsa_" + s(AN, 32) + "_" + s(HEX, 8))
token_kind("grafana-cloud-token", "https://grafana.com/docs/grafana-cloud/account-management/authentication-and-permissions/access-policies/ (glc_ + base64 JSON)",
           "GRAFANA_CLOUD_TOKEN", lambda: "glc_" + b64(json.dumps({"o": s(DIG, 6), "n": "stack-" + s(DIG, 6) + "-hm-write", "k": s(AN, 24),
                                                                     "m": {"r": "prod-us-east-0"}}).encode()).rstrip("="))
token_kind("grafana-legacy-api-key", "https://grafana.com/docs/grafana/latest/developers/http_api/auth/ (eyJrIjoi base64 JSON)", "GRAFANA_API_KEY",
           lambda: b64(json.dumps({"k": s(AN, 32), "n": "ci", "id": R.randint(1, 99)}, separators=(",", ":")).encode()).rstrip("="))
token_kind("sentry-org-token", "https://docs.sentry.io/account/auth-tokens/ (sntrys_ + base64 JSON + _ + 43)", "SENTRY_AUTH_TOKEN",
           lambda: "sntrys_" + b64(json.dumps({"iat": 1767000000.5, "url": "https://sentry.io", "region_url": "https://us.sentry.io",
                                               "org": "corpus"}).encode()).rstrip("=") + "_" + s(B64, 43))
token_kind("sentry-user-token", "https://docs.sentry.io/account/auth-tokens/ (sntryu_ + 64 hex)", "SENTRY_AUTH_TOKEN", lambda: "sntryu_" + s(HEX, 64))
token_kind("algolia-admin-key", "https://www.algolia.com/doc/guides/security/api-keys/ (32 hex; needs the name)", "ALGOLIA_ADMIN_KEY", lambda: s(HEX, 32), uri=False,
           ctx="ALGOLIA_ADMIN_API_KEY={t}")
token_kind("mapbox-secret-token", "https://docs.mapbox.com/accounts/guides/tokens/ (sk.eyJ1Ijoi... base64 JSON . 22)", "MAPBOX_SECRET_TOKEN",
           lambda: "sk." + b64url(json.dumps({"u": s(ANL, 8), "a": s(ANL, 25)}, separators=(",", ":")).encode()) + "." + s(B64U, 22))
token_kind("okta-api-token", "https://developer.okta.com/docs/guides/create-an-api-token/main/ (00 + 40; Authorization: SSWS)", "OKTA_API_TOKEN",
           lambda: "00" + s(B64U, 40), ctx="Authorization: SSWS {t}", uri=False)
token_kind("asana-pat", "https://developers.asana.com/docs/personal-access-token (2/<user>/<app>:<32 hex>)", "ASANA_PAT",
           lambda: f"2/{s(DIG, 16)}/{s(DIG, 16)}:{s(HEX, 32)}", uri=False)
token_kind("asana-client-secret", "https://developers.asana.com/docs/oauth (32 chars; needs the name)", "ASANA_CLIENT_SECRET", lambda: s(ANL, 32), uri=False,
           ctx="ASANA_CLIENT_SECRET={t}")
token_kind("dropbox-short-lived-token", "https://developers.dropbox.com/oauth-guide (sl. + 130+)", "DROPBOX_TOKEN", lambda: "sl." + s(B64U, 135, 150))
token_kind("figma-pat", "https://www.figma.com/developers/api#access-tokens (figd_ + 40)", "FIGMA_TOKEN", lambda: "figd_" + s(B64U, 40))
token_kind("frameio-token", "https://developer.frame.io/docs/getting-started/authentication (fio-u- + 64)", "FRAMEIO_TOKEN", lambda: "fio-u-" + s(B64U, 64))
token_kind("airtable-pat", "https://airtable.com/developers/web/guides/personal-access-tokens (pat<14>.<64 hex>)", "AIRTABLE_TOKEN",
           lambda: "pat" + s(AN, 14) + "." + s(HEX, 64))
token_kind("contentful-pat", "https://www.contentful.com/developers/docs/references/authentication/ (CFPAT- + 43)", "CONTENTFUL_MANAGEMENT_TOKEN", lambda: "CFPAT-" + s(B64U, 43))
PS = "https://planetscale.com/docs/concepts/service-tokens"
token_kind("planetscale-service-token", PS + " (pscale_tkn_ + 43)", "PLANETSCALE_SERVICE_TOKEN", lambda: "pscale_tkn_" + s(B64U, 43))
token_kind("planetscale-password", "https://planetscale.com/docs/concepts/connection-strings (pscale_pw_ + 43)", "DATABASE_PASSWORD", lambda: "pscale_pw_" + s(B64U, 43))
token_kind("planetscale-oauth-token", PS + " (pscale_oauth_ + 43)", "PLANETSCALE_OAUTH", lambda: "pscale_oauth_" + s(B64U, 43))
token_kind("prefect-api-key", "https://docs.prefect.io/v3/manage/cloud/manage-users/api-keys (pnu_ + 36)", "PREFECT_API_KEY", lambda: "pnu_" + s(AN, 36))
token_kind("readme-api-key", "https://docs.readme.com/main/reference/intro/authentication (rdme_ + 70 hex)", "README_API_KEY", lambda: "rdme_" + s(HEX, 70))
token_kind("rubygems-api-key", "https://guides.rubygems.org/api-key-scopes/ (rubygems_ + 48 hex)", "GEM_HOST_API_KEY", lambda: "rubygems_" + s(HEX, 48))
token_kind("scalingo-api-token", "https://doc.scalingo.com/platform/cli/features/api-token (tk-us- + 48)", "SCALINGO_API_TOKEN", lambda: "tk-us-" + s(B64U, 48))
token_kind("shippo-live-token", "https://docs.goshippo.com/docs/guides_general/authentication/ (shippo_live_ + 40 hex)", "SHIPPO_API_TOKEN", lambda: "shippo_live_" + s(HEX, 40))
token_kind("typeform-pat", "https://www.typeform.com/developers/get-started/personal-access-token/ (tfp_ + 59)", "TYPEFORM_TOKEN",
           lambda: "tfp_" + s(B64U, 44) + "_" + s(B64U, 14))
token_kind("easypost-api-key", "https://docs.easypost.com/docs/authentication (EZAK + 54)", "EASYPOST_API_KEY", lambda: "EZAK" + s(AN, 54))
token_kind("duffel-live-token", "https://duffel.com/docs/api/overview/making-requests/authentication (duffel_live_ + 43)", "DUFFEL_ACCESS_TOKEN", lambda: "duffel_live_" + s(B64U, 43))
token_kind("dynatrace-api-token", "https://docs.dynatrace.com/docs/manage/identity-access-management/access-tokens-and-oauth-clients/access-tokens#token-format (dt0c01.<24>.<64>)",
           "DT_API_TOKEN", lambda: "dt0c01." + s(ANU, 24) + "." + s(ANU, 64))
token_kind("flutterwave-secret-key", "https://developer.flutterwave.com/docs/authentication (FLWSECK_TEST- + 32 hex + -X)", "FLW_SECRET_KEY",
           lambda: "FLWSECK_TEST-" + s(HEX, 32) + "-X")
token_kind("cloudflare-api-token", "https://developers.cloudflare.com/fundamentals/api/get-started/create-token/ (40 chars; needs the name)", "CLOUDFLARE_API_TOKEN",
           lambda: s(B64U, 40), uri=False, ctx="CLOUDFLARE_API_TOKEN={t}")
token_kind("cloudflare-global-api-key", "https://developers.cloudflare.com/fundamentals/api/get-started/keys/ (37 hex; X-Auth-Key)", "CLOUDFLARE_API_KEY",
           lambda: s(HEX, 37), uri=False, ctx="X-Auth-Key: {t}")
token_kind("cloudflare-origin-ca-key", "https://developers.cloudflare.com/fundamentals/api/get-started/ca-keys/ (v1.0- + 24 hex + - + 146 hex)", "CF_ORIGIN_CA_KEY",
           lambda: "v1.0-" + s(HEX, 24) + "-" + s(HEX, 146))
token_kind("confluent-api-secret", "https://docs.confluent.io/cloud/current/security/authenticate/workload-identities/service-accounts/api-keys/overview.html (64 chars; needs the name)",
           "CONFLUENT_CLOUD_API_SECRET", lambda: s(AN + "+/", 64), uri=False, ctx="sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username='" + "ABCD" + "' password='{t}';")
token_kind("clojars-deploy-token", "https://github.com/clojars/clojars-web/wiki/Deploy-Tokens (CLOJARS_ + 60)", "CLOJARS_PASSWORD", lambda: "CLOJARS_" + s(ANL, 60))
token_kind("alibaba-access-key-id", "https://www.alibabacloud.com/help/en/ram/user-guide/create-an-accesskey-pair (LTAI + 20)", "ALIBABA_CLOUD_ACCESS_KEY_ID", lambda: "LTAI" + s(AN, 20))
token_kind("alibaba-access-key-secret", "https://www.alibabacloud.com/help/en/ram/user-guide/create-an-accesskey-pair (30 chars; needs the name)", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
           lambda: s(AN, 30), uri=False, ctx="ALIBABA_CLOUD_ACCESS_KEY_SECRET={t}")
token_kind("tencent-secret-id", "https://www.tencentcloud.com/document/product/598/32675 (AKID + 32)", "TENCENTCLOUD_SECRET_ID", lambda: "AKID" + s(AN, 32))
token_kind("ibm-cloud-api-key", "https://cloud.ibm.com/docs/account?topic=account-userapikey (44 chars; needs the name)", "IBMCLOUD_API_KEY", lambda: s(B64U, 44), uri=False,
           ctx="IBMCLOUD_API_KEY={t}")
token_kind("launchdarkly-access-token", "https://docs.launchdarkly.com/home/account/api (api- + UUID)", "LD_API_KEY", lambda: "api-" + uuid4())
token_kind("launchdarkly-sdk-key", "https://docs.launchdarkly.com/sdk/concepts/client-side-server-side#keys (sdk- + UUID)", "LD_SDK_KEY", lambda: "sdk-" + uuid4())
token_kind("netlify-pat", "https://docs.netlify.com/api/get-started/#authentication (nfp_ + 36)", "NETLIFY_AUTH_TOKEN", lambda: "nfp_" + s(AN, 36))
token_kind("vercel-token", "https://vercel.com/docs/rest-api#creating-an-access-token (24 chars; needs the name)", "VERCEL_TOKEN", lambda: s(AN, 24), uri=False,
           ctx="VERCEL_TOKEN={t}")
token_kind("supabase-access-token", "https://supabase.com/docs/reference/cli/supabase-login (sbp_ + 40 hex)", "SUPABASE_ACCESS_TOKEN", lambda: "sbp_" + s(HEX, 40))
token_kind("supabase-secret-key", "https://supabase.com/docs/guides/api/api-keys (sb_secret_ + 31)", "SUPABASE_SECRET_KEY", lambda: "sb_secret_" + s(B64U, 31))
token_kind("render-api-key", "https://render.com/docs/api#1-create-an-api-key (rnd_ + 32)", "RENDER_API_KEY", lambda: "rnd_" + s(AN, 32))
token_kind("railway-token", "https://docs.railway.com/guides/public-api#creating-a-token (UUID; needs the name)", "RAILWAY_TOKEN", uuid4, uri=False, ctx="RAILWAY_TOKEN={t}")
token_kind("openrouter-api-key", "https://openrouter.ai/docs/api-reference/authentication (sk-or-v1- + 64 hex)", "OPENROUTER_API_KEY", lambda: "sk-or-v1-" + s(HEX, 64))
token_kind("groq-api-key", "https://console.groq.com/docs/quickstart (gsk_ + 52)", "GROQ_API_KEY", lambda: "gsk_" + s(AN, 52))
token_kind("replicate-api-token", "https://replicate.com/docs/reference/http#authentication (r8_ + 37)", "REPLICATE_API_TOKEN", lambda: "r8_" + s(AN, 37))
token_kind("perplexity-api-key", "https://docs.perplexity.ai/guides/getting-started (pplx- + 48)", "PERPLEXITY_API_KEY", lambda: "pplx-" + s(AN, 48))
token_kind("xai-api-key", "https://docs.x.ai/docs/overview (xai- + 80)", "XAI_API_KEY", lambda: "xai-" + s(AN, 80))
token_kind("deepseek-api-key", "https://api-docs.deepseek.com/ (sk- + 32 hex)", "DEEPSEEK_API_KEY", lambda: "sk-" + s(HEX, 32), uri=False, ctx="DEEPSEEK_API_KEY={t}")
token_kind("cohere-api-key", "https://docs.cohere.com/reference/about (40 chars; needs the name)", "COHERE_API_KEY", lambda: s(AN, 40), uri=False, ctx="CO_API_KEY={t}")
token_kind("mistral-api-key", "https://docs.mistral.ai/getting-started/quickstart/ (32 chars; needs the name)", "MISTRAL_API_KEY", lambda: s(AN, 32), uri=False,
           ctx="MISTRAL_API_KEY={t}")
token_kind("langsmith-api-key", "https://docs.smith.langchain.com/administration/how_to_guides/organization_management/create_account_api_key (lsv2_pt_ + 32 hex + _ + 10 hex)",
           "LANGSMITH_API_KEY", lambda: "lsv2_pt_" + s(HEX, 32) + "_" + s(HEX, 10))
token_kind("langsmith-service-key", "https://docs.smith.langchain.com/administration/how_to_guides/organization_management/create_account_api_key (lsv2_sk_)", "LANGSMITH_API_KEY",
           lambda: "lsv2_sk_" + s(HEX, 32) + "_" + s(HEX, 10))
token_kind("pinecone-api-key", "https://docs.pinecone.io/guides/projects/manage-api-keys (pcsk_ + 5 + _ + 63)", "PINECONE_API_KEY", lambda: "pcsk_" + s(AN, 5) + "_" + s(AN, 63))
token_kind("elevenlabs-api-key", "https://elevenlabs.io/docs/api-reference/authentication (sk_ + 48 hex)", "ELEVENLABS_API_KEY", lambda: "sk_" + s(HEX, 48))
token_kind("cerebras-api-key", "https://inference-docs.cerebras.ai/quickstart (csk- + 48)", "CEREBRAS_API_KEY", lambda: "csk-" + s(ANL, 48))
token_kind("fireworks-api-key", "https://docs.fireworks.ai/api-reference/introduction (fw_ + 24)", "FIREWORKS_API_KEY", lambda: "fw_" + s(AN, 24))
token_kind("brevo-api-key", "https://developers.brevo.com/docs/getting-started (xkeysib- + 64 hex + - + 16)", "BREVO_API_KEY",
           lambda: "xkeysib-" + s(HEX, 64) + "-" + s(AN, 16))
token_kind("postmark-server-token", "https://postmarkapp.com/developer/api/overview#authentication (UUID; X-Postmark-Server-Token)", "POSTMARK_SERVER_TOKEN", uuid4,
           uri=False, ctx="X-Postmark-Server-Token: {t}")
token_kind("resend-api-key", "https://resend.com/docs/dashboard/api-keys/introduction (re_ + 8 + _ + 24)", "RESEND_API_KEY", lambda: "re_" + s(AN, 8) + "_" + s(AN, 24))
token_kind("plaid-access-token", "https://plaid.com/docs/api/tokens/ (access-<env>-UUID)", "PLAID_ACCESS_TOKEN", lambda: "access-production-" + uuid4())
token_kind("braintree-access-token", "https://developer.paypal.com/braintree/docs/guides/authorization/overview (access_token$production$<16>$<32 hex>)",
           "BRAINTREE_ACCESS_TOKEN", lambda: f"access_token$production${s(ANL, 16)}${s(HEX, 32)}", uri=False)
token_kind("twitter-bearer-token", "https://developer.x.com/en/docs/authentication/oauth-2-0/bearer-tokens (AAAAAAAAAAAAAAAAAAAAA + ...)", "TWITTER_BEARER_TOKEN",
           lambda: "AAAAAAAAAAAAAAAAAAAAA" + s(AN, 22) + "%3D" + s(AN, 50))
token_kind("facebook-access-token", "https://developers.facebook.com/docs/facebook-login/guides/access-tokens (EAA + opaque)", "FACEBOOK_ACCESS_TOKEN",
           lambda: "EAA" + s(AN, 150, 200))
token_kind("facebook-app-secret", "https://developers.facebook.com/docs/facebook-login/security/#appsecret (32 hex; needs the name)", "FACEBOOK_APP_SECRET",
           lambda: s(HEX, 32), uri=False, ctx="FACEBOOK_APP_SECRET={t}")
token_kind("linkedin-client-secret", "https://learn.microsoft.com/en-us/linkedin/shared/authentication/client-credentials-flow (16 chars; needs the name)",
           "LINKEDIN_CLIENT_SECRET", lambda: s(AN, 16), uri=False, ctx="LINKEDIN_CLIENT_SECRET={t}")
token_kind("zendesk-api-token", "https://developer.zendesk.com/api-reference/introduction/security-and-auth/ (40 chars; needs the name)", "ZENDESK_API_TOKEN",
           lambda: s(AN, 40), uri=False, ctx="ZENDESK_API_TOKEN={t}")
token_kind("intercom-access-token", "https://developers.intercom.com/docs/build-an-integration/learn-more/authentication (dG9rOj base64 'tok:' ...)", "INTERCOM_TOKEN",
           lambda: b64(("tok:" + uuid4() + ":" + uuid4()).encode()).rstrip("=") + "=", uri=False)
token_kind("hubspot-private-app-token", "https://developers.hubspot.com/docs/api/private-apps (pat-<region>-UUID)", "HUBSPOT_ACCESS_TOKEN",
           lambda: f"pat-{R.choice(['na1', 'eu1'])}-{uuid4()}")
token_kind("salesforce-access-token", "https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flows.htm (00D<org>!<session>)", "SF_ACCESS_TOKEN",
           lambda: "00D" + s(AN, 12) + "!" + s(AN + ".", 96), uri=False)
token_kind("twitch-oauth-token", "https://dev.twitch.tv/docs/authentication/ (30 lowercase; oauth: prefix in IRC)", "TWITCH_TOKEN", lambda: "oauth:" + s(ANL, 30), uri=False)
token_kind("mattermost-access-token", "https://developers.mattermost.com/integrate/reference/personal-access-token/ (26 lowercase; needs the name)",
           "MM_ACCESS_TOKEN", lambda: s(ANL, 26), uri=False, ctx="MM_ACCESS_TOKEN={t}")
token_kind("messagebird-api-key", "https://developers.messagebird.com/api/#authentication (25 chars; AccessKey header)", "MESSAGEBIRD_API_KEY",
           lambda: s(AN, 25), uri=False, ctx="Authorization: AccessKey {t}")
token_kind("jwt", "https://www.rfc-editor.org/rfc/rfc7519 (three base64url parts)", "ID_TOKEN", jwt)
token_kind("kubernetes-service-account-token", "https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/ (JWT; kubeconfig token:)",
           "KUBE_TOKEN", lambda: jwt({"iss": "kubernetes/serviceaccount", "kubernetes.io/serviceaccount/namespace": "ci",
                                      "kubernetes.io/serviceaccount/secret.name": "deployer-token-" + s(ANL, 5), "sub": "system:serviceaccount:ci:deployer"}),
           uri=False, ctx="    token: {t}")
token_kind("firebase-cloud-messaging-server-key", "https://firebase.google.com/docs/cloud-messaging/auth-server (AAAA<7>:APA91b + 134)", "FCM_SERVER_KEY",
           lambda: "AAAA" + s(B64U, 7) + ":APA91b" + s(B64U, 134))
token_kind("gocardless-live-token", "https://developer.gocardless.com/getting-started/api/making-your-first-request/ (live_ + 40)", "GOCARDLESS_ACCESS_TOKEN",
           lambda: "live_" + s(B64U, 40), uri=False, ctx="GOCARDLESS_ACCESS_TOKEN={t}")
token_kind("lob-live-api-key", "https://docs.lob.com/#tag/Authentication (live_ + 35 hex)", "LOB_API_KEY", lambda: "live_" + s(HEX, 35), uri=False, ctx="LOB_API_KEY={t}")
token_kind("octopus-deploy-api-key", "https://octopus.com/docs/octopus-rest-api/how-to-create-an-api-key (API- + 26)", "OCTOPUS_API_KEY", lambda: "API-" + s(ANU, 26))
token_kind("prisma-accelerate-key", "https://www.prisma.io/docs/accelerate/getting-started (prisma:// ?api_key=<JWT>)", "DATABASE_URL",
           lambda: jwt({"api_key": uuid4(), "tenant_id": s(HEX, 64), "internal_secret": uuid4()}), uri=False,
           ctx="DATABASE_URL=prisma://accelerate.prisma-data.net/?api_key={t}")
token_kind("harness-pat", "https://developer.harness.io/docs/platform/automation/api/add-and-manage-api-keys/ (pat.<account>.<id>.<secret>)", "HARNESS_API_KEY",
           lambda: f"pat.{s(B64U, 22)}.{s(HEX, 24)}.{s(AN, 20)}")
token_kind("buildkite-agent-token", "https://buildkite.com/docs/agent/v3/tokens (bkua_ + 40 hex for API tokens)", "BUILDKITE_API_TOKEN", lambda: "bkua_" + s(HEX, 40))
token_kind("circleci-pat", "https://circleci.com/docs/managing-api-tokens/ (CCIPAT_ + 22 + _ + 40 hex)", "CIRCLECI_TOKEN",
           lambda: "CCIPAT_" + s(AN, 22) + "_" + s(HEX, 40))
token_kind("travis-ci-token", "https://docs.travis-ci.com/user/triggering-builds/ (22 chars; needs the name)", "TRAVIS_API_TOKEN", lambda: s(B64U, 22), uri=False,
           ctx="TRAVIS_API_TOKEN={t}")
token_kind("codecov-upload-token", "https://docs.codecov.com/docs/codecov-tokens (UUID; needs the name)", "CODECOV_TOKEN", uuid4, uri=False, ctx="CODECOV_TOKEN={t}")
token_kind("coveralls-repo-token", "https://docs.coveralls.io/api-introduction (33 chars; needs the name)", "COVERALLS_REPO_TOKEN", lambda: s(AN, 33), uri=False,
           ctx="COVERALLS_REPO_TOKEN={t}")
token_kind("new-relic-browser-key", NR + " (NRJS- + 19 hex)", "NEW_RELIC_BROWSER_KEY", lambda: "NRJS-" + s(HEX, 19))
token_kind("hashicorp-cloud-secret", "https://developer.hashicorp.com/hcp/docs/hcp/iam/service-principal (client secret 64; needs the name)", "HCP_CLIENT_SECRET",
           lambda: s(B64U, 64), uri=False, ctx="HCP_CLIENT_SECRET={t}")
token_kind("mongodb-atlas-private-key", "https://www.mongodb.com/docs/atlas/configure-api-access/ (UUID private key; needs the name)", "MONGODB_ATLAS_PRIVATE_KEY",
           uuid4, uri=False, ctx="MONGODB_ATLAS_PRIVATE_KEY={t}")
token_kind("infracost-api-key", "https://www.infracost.io/docs/integrations/environment_variables/ (ico- + 32)", "INFRACOST_API_KEY", lambda: "ico-" + s(AN, 32))
token_kind("snowflake-pat", "https://docs.snowflake.com/en/user-guide/programmatic-access-tokens (JWT-shaped; needs the name)", "SNOWFLAKE_TOKEN",
           lambda: jwt({"p": s(DIG, 10) + ":" + s(DIG, 10), "iss": "SF:" + s(DIG, 4), "exp": 1800000000}), uri=False, ctx="SNOWFLAKE_PASSWORD={t}")
token_kind("heroku-oauth-token-hrku", "https://devcenter.heroku.com/articles/oauth (HRKU- in Authorization: Bearer)", "HEROKU_OAUTH",
           lambda: "HRKU-AA" + s(B64U, 58), uri=False, ctx="Authorization: Bearer {t}")


# ----- private keys -----
def pk_kind(kid, label, nbytes, source):
    @kind(kid, source, "PRIVATE_KEY", uri=False)
    def _gen():
        k = pem(label, nbytes)
        return k, k.split("\n")[1]


pk_kind("private-key-rsa", "RSA PRIVATE KEY", 1190, "https://www.rfc-editor.org/rfc/rfc7468 (PKCS#1 PEM)")
pk_kind("private-key-pkcs8", "PRIVATE KEY", 1216, "https://www.rfc-editor.org/rfc/rfc7468#section-10 (PKCS#8 PEM)")
pk_kind("private-key-encrypted-pkcs8", "ENCRYPTED PRIVATE KEY", 1250, "https://www.rfc-editor.org/rfc/rfc7468#section-11")
pk_kind("private-key-ec", "EC PRIVATE KEY", 121, "https://www.rfc-editor.org/rfc/rfc5915 (SEC1 EC key, PEM)")
pk_kind("private-key-dsa", "DSA PRIVATE KEY", 445, "OpenSSL PEM (traditional DSA)")
pk_kind("private-key-openssh", "OPENSSH PRIVATE KEY", 400, "https://github.com/openssh/openssh-portable/blob/master/PROTOCOL.key")
pk_kind("private-key-pgp", "PGP PRIVATE KEY BLOCK", 900, "https://www.rfc-editor.org/rfc/rfc9580#section-6.2 (ASCII armor)")


@kind("private-key-json-escaped", "PKCS#8 PEM as a JSON string with \\n escapes (service-account files)", "PRIVATE_KEY", uri=False)
def _pk_json():
    k = pem("PRIVATE KEY", 900)
    return '"private_key": ' + json.dumps(k + "\n"), k.split("\n")[1]


@kind("putty-private-key", "https://the.earth.li/~sgtatham/putty/0.78/htmldoc/AppendixC.html (PuTTY-User-Key-File-3)", "PPK", uri=False)
def _ppk():
    body = b64(rnd_bytes(96))
    return (f"PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: ci\nPublic-Lines: 2\n{b64(rnd_bytes(48))}\n"
            f"Private-Lines: 1\n{body}\nPrivate-MAC: {s(HEX, 64)}"), body


# ----- generic: assignments, headers, command lines, URIs -----
GEN = "generic: keyword/assignment (no provider shape)"


@kind("generic-password-assignment", GEN + "; password = \"...\" in code", "DB_PASSWORD", uri=False, examples=3)
def _pw_assign():
    p = password()
    return R.choice(['password = "{p}"', "PASSWORD='{p}'", "db_password := \"{p}\"", "$password = '{p}';"]).format(p=p), p


@kind("generic-env-api-key", GEN + "; FOO_API_KEY=... in .env/shell", "FOO_API_KEY", uri=False, examples=3)
def _env_key():
    k = s(AN, 32, 40)
    name = R.choice(["ACME_API_KEY", "INTERNAL_API_KEY", "BILLING_SERVICE_KEY", "SEARCH_API_TOKEN", "WEATHER_APIKEY"])
    return f"{R.choice(['', 'export '])}{name}={k}", k


@kind("generic-env-secret", GEN + "; APP_SECRET=... in .env", "APP_SECRET", uri=False)
def _env_secret():
    k = s(B64U, 40, 64)
    return f"{R.choice(['SECRET_KEY_BASE', 'DJANGO_SECRET_KEY', 'JWT_SECRET', 'SESSION_SECRET', 'NEXTAUTH_SECRET'])}={k}", k


@kind("generic-json-secret-member", GEN + "; \"client_secret\": \"...\" in JSON", "CONFIG_JSON", uri=False, examples=3)
def _json_key():
    k = s(AN + "-_", 24, 40)
    name = R.choice(["client_secret", "apiKey", "telegram_token", "webhookSecret", "access_token", "signingSecret"])
    return json.dumps({"endpoint": "https://api.corp.example/v2", name: k}), k


@kind("generic-yaml-secret", GEN + "; api_token: ... in YAML", "CONFIG_YAML", uri=False, examples=3)
def _yaml_key():
    k = s(AN, 28, 44)
    name = R.choice(["api_token", "secret", "auth_token", "apiSecret", "password"])
    return f"service:\n  url: https://svc.internal\n  {name}: {k}\n", k


@kind("generic-ini-secret", GEN + "; secret = ... in INI/TOML", "CONFIG_INI", uri=False)
def _ini_key():
    k = s(AN, 24, 36)
    return f"[credentials]\nuser = deploy\n{R.choice(['secret', 'token', 'api_key'])} = {k}\n", k


@kind("authorization-bearer", "https://www.rfc-editor.org/rfc/rfc6750#section-2.1 (Authorization: Bearer <opaque>)", "AUTH_HEADER", uri=False, examples=3)
def _bearer():
    t = s(B64U, 32, 48)
    return R.choice(["Authorization: Bearer {t}", "curl -H \"Authorization: Bearer {t}\" https://api.corp.example/v1/me",
                     "-H 'authorization: bearer {t}'"]).format(t=t), t


@kind("authorization-basic", "https://www.rfc-editor.org/rfc/rfc7617 (Authorization: Basic base64(user:pass))", "AUTH_HEADER", uri=False)
def _basic():
    t = b64(f"{s(ANL, 6)}:{password()}".encode())
    return f"Authorization: Basic {t}", t


@kind("api-key-header", GEN + "; X-API-Key header on a command line", "AUTH_HEADER", uri=False)
def _xapikey():
    t = s(AN, 32)
    return f"curl -s -H 'X-API-Key: {t}' https://api.corp.example/v1/items", t


@kind("curl-user-password", "https://curl.se/docs/manpage.html#-u (curl -u user:pass)", "CURL", uri=False, examples=3)
def _curl_u():
    p = password()
    return f"curl -u deploy:{p} https://nexus.corp.example/repository/raw/", p


@kind("cli-password-flag", GEN + "; --password=... / -p on a command line", "CMD", uri=False, examples=3)
def _cli_pw():
    p = password()
    return R.choice(["mysql -h db.internal -u root -p{p} app", "docker login -u ci --password {p} registry.corp.example",
                     "sshpass -p '{p}' ssh deploy@10.0.4.12", "psql --dbname=app --password={p}",
                     "az login --service-principal -u http://ci -p {p} --tenant corp"]).format(p=p), p


@kind("pgpassword-env", "https://www.postgresql.org/docs/current/libpq-envars.html (PGPASSWORD)", "PGPASSWORD", uri=False)
def _pgpass():
    p = password()
    return f"PGPASSWORD={p} psql -h db.internal -U app", p


@kind("netrc-password", "https://everything.curl.dev/usingcurl/netrc (.netrc machine/login/password)", "NETRC", uri=False)
def _netrc():
    p = password()
    return f"machine api.corp.example login deploy password {p}", p


@kind("npmrc-auth-token", "https://docs.npmjs.com/cli/v10/configuring-npm/npmrc#auth-related-configuration (//registry/:_authToken=)", "NPMRC", uri=False)
def _npmrc():
    t = uuid4()
    return f"//registry.npmjs.org/:_authToken={t}", t


@kind("docker-config-auth", "https://docs.docker.com/reference/cli/docker/login/#credential-stores (~/.docker/config.json auths.*.auth)", "DOCKER_CONFIG", uri=False)
def _docker_auth():
    t = b64(f"ci:{password()}".encode())
    return json.dumps({"auths": {"registry.corp.example": {"auth": t}}}), t


@kind("uri-userinfo-password", "https://www.rfc-editor.org/rfc/rfc3986#section-3.2.1 (scheme://user:pass@host)", "URL", examples=3)
def _uri_pw():
    p = s(AN, 12, 20)
    return R.choice(["https://deploy:{p}@git.corp.example/team/app.git", "ftp://backup:{p}@files.corp.example/drop/",
                     "https://x-access-token:{p}@nexus.corp.example/repo"]).format(p=p), p


@kind("git-credential-url", "https://git-scm.com/docs/git-credential-store (https://user:token@host)", "URL")
def _git_cred():
    t = github_token("ghs_")
    return f"https://x-access-token:{t}@github.com/corp/app.git", t


@kind("connection-string-postgres", "https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS", "DATABASE_URL", examples=3)
def _pg_uri():
    p = s(AN, 16, 24)
    return f"postgres://app:{p}@db.internal:5432/prod?sslmode=require", p


@kind("connection-string-mysql", "https://dev.mysql.com/doc/refman/8.0/en/connecting-using-uri-or-key-value-pairs.html", "DATABASE_URL")
def _mysql_uri():
    p = s(AN, 16, 24)
    return f"mysql://root:{p}@mysql.internal:3306/app", p


@kind("connection-string-mongodb", "https://www.mongodb.com/docs/manual/reference/connection-string/ (mongodb+srv://user:pass@)", "MONGODB_URI")
def _mongo_uri():
    p = s(AN, 16, 24)
    return f"mongodb+srv://svc:{p}@cluster0.ab1cd.mongodb.net/app?retryWrites=true&w=majority", p


@kind("connection-string-redis", "https://www.iana.org/assignments/uri-schemes/prov/redis (redis://:pass@host)", "REDIS_URL")
def _redis_uri():
    p = s(AN, 20, 32)
    return f"redis://:{p}@cache.internal:6379/0", p


@kind("connection-string-amqp", "https://www.rabbitmq.com/docs/uri-spec (amqps://user:pass@host/vhost)", "AMQP_URL")
def _amqp_uri():
    p = s(AN, 16, 24)
    return f"amqps://worker:{p}@mq.internal:5671/prod", p


@kind("connection-string-adonet", "https://learn.microsoft.com/en-us/dotnet/framework/data/adonet/connection-strings (Password=...;)", "CONNECTION_STRING", uri=False)
def _adonet():
    p = password()
    return f"Server=tcp:sql.internal,1433;Database=app;User ID=svc;Password={p};Encrypt=True;", p


@kind("connection-string-jdbc", "https://jdbc.postgresql.org/documentation/use/ (jdbc:...?user=&password=)", "JDBC_URL")
def _jdbc():
    p = s(AN, 16, 24)
    return f"jdbc:postgresql://db.internal:5432/app?user=svc&password={p}&ssl=true", p


@kind("percent-encoded-uri-password", "https://www.rfc-editor.org/rfc/rfc3986#section-2.1 (reserved characters of a password percent-encoded)", "DATABASE_URL", examples=3)
def _pct_pw():
    raw = s(AN, 6) + R.choice("@/:#?") + s(AN, 5) + R.choice("!$&+=") + s(AN, 5)
    enc = urllib.parse.quote(raw, safe="")
    return f"postgresql://app:{enc}@db.internal:5432/prod", enc


@kind("percent-encoded-query-token", "https://www.rfc-editor.org/rfc/rfc3986#section-3.4 (a base64 secret in the query, its +/= percent-encoded)", "URL", examples=3)
def _pct_query():
    raw = b64(rnd_bytes(R.choice([30, 32, 40])))
    while not any(c in raw for c in "+/="):
        raw = b64(rnd_bytes(32))
    enc = urllib.parse.quote(raw, safe="")
    name = R.choice(["client_secret", "secret", "api_key", "password"])
    return f"https://ci.corp.example/hooks/run?{name}={enc}&ref=main", enc


@kind("query-api-key", "https://www.rfc-editor.org/rfc/rfc3986#section-3.4 (?api_key=... in a URL)", "URL")
def _query_key():
    k = s(AN, 32)
    return f"https://api.corp.example/v1/forecast?lat=52.5&api_key={k}", k


@kind("aws-presigned-url-signature", "https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html (X-Amz-Signature)", "URL")
def _s3_presigned():
    sig = s(HEX, 64)
    return (f"https://corp-artifacts.s3.amazonaws.com/build.tgz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIA{s(B32, 16)}%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
            f"&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature={sig}"), sig


@kind("gcs-signed-url-signature", "https://cloud.google.com/storage/docs/access-control/signed-urls (X-Goog-Signature)", "URL")
def _gcs_signed():
    sig = s(HEX, 512)
    return (f"https://storage.googleapis.com/corp-bucket/out.json?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=ci%40corp.iam.gserviceaccount.com"
            f"%2F20260101%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20260101T000000Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host&X-Goog-Signature={sig}"), sig


@kind("google-chat-webhook-url", "https://developers.google.com/workspace/chat/quickstart/webhooks (…/messages?key=…&token=…)", "CHAT_WEBHOOK")
def _gchat():
    t = s(B64U, 43)
    return f"https://chat.googleapis.com/v1/spaces/AAAA{s(B64U, 7)}/messages?key=AIza{s(B64U, 35)}&token={t}%3D", t


@kind("zapier-webhook-url", "https://help.zapier.com/hc/en-us/articles/8496288690317 (hooks.zapier.com/hooks/catch/<account>/<hook>/)", "ZAPIER_HOOK")
def _zapier():
    t = s(ANL, 7)
    return f"https://hooks.zapier.com/hooks/catch/{s(DIG, 8)}/{t}/", t


@kind("ifttt-webhook-url", "https://ifttt.com/maker_webhooks (maker.ifttt.com/trigger/<event>/with/key/<key>)", "IFTTT_HOOK")
def _ifttt():
    t = s(B64U, 22)
    return f"https://maker.ifttt.com/trigger/build_done/with/key/{t}", t


@kind("mattermost-webhook-url", "https://developers.mattermost.com/integrate/webhooks/incoming/ (/hooks/<26 lowercase>)", "MM_HOOK")
def _mm_hook():
    t = s(ANL, 26)
    return f"https://chat.corp.example/hooks/{t}", t


@kind("gitlab-webhook-trigger-url", "https://docs.gitlab.com/ee/ci/triggers/ (…/trigger/pipeline?token=glptt-…)", "TRIGGER_URL")
def _gl_trigger():
    t = "glptt-" + s(HEX, 40)
    return f"https://gitlab.com/api/v4/projects/{s(DIG, 8)}/trigger/pipeline?token={t}&ref=main", t


@kind("azure-logic-apps-webhook-url", "https://learn.microsoft.com/en-us/azure/connectors/connectors-native-reqres (Workflows/Power Automate trigger URL, sig= SAS)", "FLOW_URL")
def _logic_app():
    t = s(B64U, 43)
    return (f"https://prod-{R.randint(10, 99)}.westeurope.logic.azure.com:443/workflows/{s(HEX, 32)}/triggers/manual/paths/invoke"
            f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={t}"), t


@kind("jenkins-build-token-url", "https://www.jenkins.io/doc/book/using/remote-access-api/ (…/job/<name>/build?token=<token>)", "JENKINS_TRIGGER")
def _jenkins():
    t = s(AN, 32)
    return f"https://jenkins.corp.example/job/deploy-prod/buildWithParameters?token={t}&ENV=prod", t


@kind("grafana-oncall-webhook-url", "https://grafana.com/docs/oncall/latest/configure/integrations/references/webhook/ (…/integrations/v1/webhook/<token>/)", "ONCALL_HOOK")
def _oncall():
    t = s(AN, 25)
    return f"https://oncall-prod-eu-west-0.grafana.net/oncall/integrations/v1/webhook/{t}/", t


@kind("webex-incoming-webhook-url", "https://developer.webex.com/docs/api/guides/webhooks (webexapis.com/v1/webhooks/incoming/<token>)", "WEBEX_HOOK")
def _webex():
    t = s(B64U, 100)
    return f"https://webexapis.com/v1/webhooks/incoming/{t}", t


@kind("feishu-bot-webhook-url", "https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot (open-apis/bot/v2/hook/<uuid>)", "FEISHU_HOOK")
def _feishu():
    t = uuid4()
    return f"https://open.feishu.cn/open-apis/bot/v2/hook/{t}", t


@kind("dingtalk-robot-webhook-url", "https://open.dingtalk.com/document/robots/custom-robot-access (robot/send?access_token=<64 hex>)", "DINGTALK_HOOK")
def _dingtalk():
    t = s(HEX, 64)
    return f"https://oapi.dingtalk.com/robot/send?access_token={t}", t


@kind("wecom-webhook-url", "https://developer.work.weixin.qq.com/document/path/91770 (cgi-bin/webhook/send?key=<uuid>)", "WECOM_HOOK")
def _wecom():
    t = uuid4()
    return f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={t}", t


@kind("splunk-hec-token", "https://docs.splunk.com/Documentation/Splunk/latest/Data/FormateventsforHTTPEventCollector (Authorization: Splunk <uuid>)", "SPLUNK_HEC", uri=False)
def _splunk():
    t = uuid4()
    return f"curl -k https://splunk.corp.example:8088/services/collector -H \"Authorization: Splunk {t}\" -d @event.json", t


@kind("session-cookie", "https://www.rfc-editor.org/rfc/rfc6265 (Cookie: session=...)", "COOKIE", uri=False)
def _cookie():
    t = s(AN, 40)
    return f"Cookie: theme=dark; sessionid={t}; csrftoken={s(AN, 32)}", t


@kind("kubeconfig-client-key-data", "https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/ (client-key-data: base64 PEM)", "KUBECONFIG",
      uri=False)
def _kube_key():
    t = b64(pem("RSA PRIVATE KEY", 600).encode())
    return f"users:\n- name: admin\n  user:\n    client-key-data: {t}\n", t


@kind("htpasswd-plain-in-compose", GEN + "; environment: POSTGRES_PASSWORD: ... in docker-compose", "COMPOSE", uri=False)
def _compose():
    p = password()
    return f"services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: {p}\n", p


def code_kind(kid, source, template, value, examples=2):
    @kind(kid, GEN + "; " + source, "CODE", uri=False, examples=examples)
    def _gen():
        v = value()
        return template.format(v=v), v


code_kind("generic-xml-password", "<password>…</password> in XML config (Maven settings.xml, …)", "<server><id>corp</id><username>ci</username><password>{v}</password></server>", password)
code_kind("generic-properties-password", "Java .properties", "spring.datasource.password={v}", password)
code_kind("generic-go-const-key", "a Go constant", 'const apiKey = "{v}"', lambda: s(AN, 32))
code_kind("generic-java-string-password", "a Java string", 'String dbPassword = "{v}";', password)
code_kind("generic-csharp-connection", "a C# connection string literal", 'var cs = "Host=db;Username=app;Password={v};Database=prod";', password)
code_kind("generic-php-define", "PHP define()", "define('DB_PASSWORD', '{v}');", password)
code_kind("generic-ruby-hash", "a Ruby hash", "client = Api::Client.new(api_key: '{v}')", lambda: s(AN, 32))
code_kind("generic-python-kwarg", "a Python keyword argument", "client = Client(api_key=\"{v}\", timeout=30)", lambda: s(AN, 40))
code_kind("generic-python-dict", "a Python dict literal", "cfg = {{'user': 'svc', 'password': '{v}'}}", password)
code_kind("generic-js-object", "a JavaScript object", "const cfg = {{ apiSecret: '{v}', region: 'eu' }};", lambda: s(B64U, 40))
code_kind("generic-terraform-password", "a Terraform argument", 'resource "aws_db_instance" "db" {{\n  username = "admin"\n  password = "{v}"\n}}', password)
code_kind("generic-powershell-securestring", "PowerShell ConvertTo-SecureString", '$pw = ConvertTo-SecureString "{v}" -AsPlainText -Force', password)
code_kind("generic-dockerfile-env", "a Dockerfile ENV", "ENV API_TOKEN={v}", lambda: s(AN, 36))
code_kind("generic-github-actions-env", "a workflow env with a literal value", "env:\n  DEPLOY_TOKEN: {v}\n", lambda: s(AN, 40))
code_kind("generic-cli-token-flag", "--token on a command line", "deployctl push --token {v} --env prod", lambda: s(AN, 40))
code_kind("generic-x-auth-token-header", "X-Auth-Token header", "X-Auth-Token: {v}", lambda: s(HEX, 48))
code_kind("generic-json-password-nested", "a nested JSON password", '{{"db": {{"host": "db.internal", "password": "{v}"}}}}', password)
code_kind("generic-yaml-quoted-password", "a quoted YAML password", 'password: "{v}"', password)
code_kind("generic-toml-token", "a TOML token", '[registries.corp]\ntoken = "{v}"', lambda: s(AN, 40))
code_kind("generic-perl-fat-arrow", "a Perl/Ruby fat-arrow pair", "my %db = (user => 'app', password => '{v}');", password)
code_kind("generic-swift-let", "a Swift/Kotlin constant", 'let apiKey = "{v}"', lambda: s(AN, 32))
code_kind("generic-kotlin-val", "a Kotlin property", 'private val secretKey = "{v}"', lambda: s(B64U, 40))
code_kind("generic-rust-const", "a Rust constant", 'const API_TOKEN: &str = "{v}";', lambda: s(AN, 40))
code_kind("generic-go-short-decl", "a Go := assignment", 'secret := "{v}"', lambda: s(AN, 32))
code_kind("generic-double-encoded-json", "JSON inside a JSON string (tool results logged as text)",
          '{{"result": "{{\\"status\\":\\"ok\\",\\"password\\":\\"{v}\\"}}"}}', password)
code_kind("generic-form-body", "an application/x-www-form-urlencoded body", "POST /login body: username=admin&password={v}&remember=1",
          lambda: s(AN, 14))
code_kind("generic-k8s-args", "a container argument", "args:\n  - --api-key={v}\n  - --verbose", lambda: s(AN, 36))
code_kind("generic-helm-set", "helm --set of a password", "helm upgrade --install db bitnami/postgresql --set auth.postgresPassword={v}", password)


# detect-secrets' keyword detector (https://github.com/Yelp/detect-secrets, README "KeywordDetector"):
# its name list (db_pass, client_key, ...) with affixes, and its syntaxes (:=, =>, "v" == name,
# name "v";); values as people write them, letters only or bracket-laden.
def word_value():
    return s(LO, 9, 14)


def bracket_value():
    v = list(s(AN, 10, 14))
    for _ in range(4):
        v.insert(R.randint(1, len(v) - 1), R.choice("{}()[]<>$#"))
    return "".join(v)


def any_value():
    return R.choice([word_value, bracket_value, lambda: s(AN, 16)])()


@kind("generic-affixed-secret-name", GEN + "; a keyword inside a longer name (my_password_for_stuff = \"v\", theapikeyforfoo := \"v\")", "CODE", uri=False, examples=4)
def _affixed():
    v = any_value()
    return R.choice(['my_password_for_stuff = "{v}"', 'password_super_secure = "{v}"', 'theapikeyforfoo := "{v}"',
                     "some_db_pass_prod = '{v}'", 'client_key_v2 => "{v}"']).format(v=v), v


@kind("generic-compared-literal", GEN + "; a literal a secret name is compared with (password === \"v\", \"v\" != db_pass)", "CODE", uri=False, examples=4)
def _compared():
    v = any_value()
    return R.choice(['if (password === "{v}") {{', '"{v}" == db_pass', "if '{v}' != api_key:", 'ok := secret == "{v}"']).format(v=v), v


@kind("generic-quoted-statement", GEN + "; name \"value\"; (private_key \"v\";)", "CODE", uri=False, examples=2)
def _statement():
    v = R.choice([word_value, bracket_value])()
    return R.choice(['private_key "{v}";', "password '{v}';"]).format(v=v), v


code_kind("generic-letters-only-quoted-password", "a letters-only quoted password", 'password = "{v}"', word_value, examples=3)


@kind("generic-symbol-value-affixed", GEN + "; a bracket-laden password without quotes after a longer secret name or in XML (secret_value: v, db_pass: v, <password>v</password>)", "CODE", uri=False, examples=3)
def _symbol_affixed():
    v = bracket_value()
    return R.choice(["secret_value: {v}", "db_pass: {v}", "SECRET_KEY={v}", "<password>{v}</password>", "<db_password>\n  {v}\n</db_password>"]).format(v=v), v


@kind("generic-word-value-unquoted", GEN + "; a letters-only value without quotes in config syntax (password: somefakekey, theapikey := v, db_pass=v)", "CODE", uri=False, examples=3)
def _word_unquoted():
    v = word_value()
    return R.choice(["password: {v}", "apikey: {v}", "theapikey := {v}", "db_pass={v}", "client_key => {v}"]).format(v=v), v


code_kind("generic-docker-run-env", "docker run -e of a secret", "docker run -d -e DB_PASSWORD={v} -p 5432:5432 postgres:16", password)
code_kind("generic-kubectl-secret-literal", "kubectl create secret --from-literal", "kubectl create secret generic db-creds --from-literal=password={v}", password)
code_kind("generic-python-connect", "a database driver call", 'conn = mysql.connector.connect(host="db.internal", user="root", passwd="{v}")', password)
code_kind("generic-redis-cli-auth", "redis-cli -a", "redis-cli -h cache.internal -a {v} ping", lambda: s(AN, 24))
code_kind("generic-openssl-passin", "openssl -passin pass:", "openssl pkcs12 -in cert.p12 -nodes -passin pass:{v}", password)
code_kind("generic-wget-password", "wget --password", "wget --user=ci --password={v} https://nexus.corp.example/repo/app.tar.gz", password)
code_kind("generic-git-insteadof-token", "a token in git config insteadOf", 'git config --global url."https://oauth2:{v}@gitlab.corp.example/".insteadOf "https://gitlab.corp.example/"',
          lambda: s(B64U, 20))
code_kind("generic-sshpass-env", "SSHPASS", "SSHPASS={v} sshpass -e ssh deploy@10.0.4.12", password)
code_kind("generic-secret-in-error", "a secret echoed in an error message", "Error: authentication failed for token '{v}'", lambda: s(AN, 40))
code_kind("generic-secret-colon-text", "prose: 'the secret is …'", "the new admin password is {v}", password)


def symbol_password():
    # a human-made password mixing brackets and sigils with letters and digits
    parts = [s(AN, 3, 5), s("{}()[]<>", 1), s(AN, 2, 4), s("$#%^&*!", 1), s(AN, 3, 5), s("{}()[]<>", 1), s(DIG, 2)]
    return "".join(parts)


# Assignment syntaxes that Makefiles, PHP, Go, Objective-C, YAML block scalars, XML, CSV and
# nginx use (each kind is one syntax; the values are random).
code_kind("generic-make-conditional-assign", "a Makefile ?= assignment", 'DEPLOY_TOKEN ?= "{v}"', lambda: s(AN, 36))
code_kind("generic-make-append", "a Makefile += assignment", 'CI_API_TOKEN += "{v}"', lambda: s(AN, 40))
code_kind("generic-make-immediate-assign", "a Makefile ::= assignment", "REGISTRY_TOKEN ::= {v}", lambda: s(AN, 32))
code_kind("generic-php-concat-assign", "a PHP .= assignment", '$authToken .= "{v}";', lambda: s(HEX, 40))
code_kind("generic-go-typed-var", "a Go var with its type", 'var serviceToken string = "{v}"', lambda: s(AN, 40))
code_kind("generic-go-backtick", "a Go raw string", "deployToken := `{v}`", lambda: s(B64U, 43))
code_kind("generic-objc-string", "an Objective-C string literal", 'NSString *apiKey = @"{v}";', lambda: s(AN, 32))
code_kind("generic-php-array-append", "a PHP array append", '$apiKey[] = "{v}";', lambda: s(AN, 32))
code_kind("generic-dict-index-assign", "a dict item set by index", 'settings["secret"] = "{v}"', lambda: s(B64U, 40))
code_kind("generic-yaml-block-scalar", "a YAML block scalar", "vault_token: |\n  {v}\n", lambda: s(AN, 40))
code_kind("generic-xml-multiline-element", "an XML element on its own lines", "<authToken>\n    {v}\n</authToken>", lambda: s(AN, 40))
code_kind("generic-csv-token-cell", "a CSV export row", "svc-deploy,api_token,{v},2026-03-01", lambda: s(AN, 32))
code_kind("generic-symbol-password", "a password mixing brackets and sigils", "db_password = {v}", symbol_password)
code_kind("generic-quoted-semicolon", "an nginx header directive", 'proxy_set_header X-Api-Key "{v}";', lambda: s(AN, 32))
code_kind("generic-token-dash-listing", "a listing of tokens: NAME token - 'V'", "staging token - '{v}'", lambda: s(ANL, 30))
code_kind("cloudant-pw-assignment", "https://cloud.ibm.com/docs/Cloudant (legacy 64-hex generated password in a *_pw name)", 'cloudant_pw="{v}"',
          lambda: s(HEX, 64))


# Kinds added for issue 19 (shapes the scanners' public test suites exercise; values are ours, random).
def _mixed(n, m):
    """Letters and digits, with at least two digits and two letters."""
    return s(LO, 2) + s(DIG, 2) + s(AN, n - 4, m - 4)


@kind("generic-key-name-assignment", GEN + "; a random value assigned to any name ending in key (Key=V, acme_key: V)", "ACME_KEY", uri=False, examples=3)
def _key_name():
    v = _mixed(20, 40)
    return R.choice(["[DEBUG] Using Key={v}", "acme_key: {v}", "\"serviceKey\": \"{v}\"", "license_key = '{v}'", "export WIDGET_KEY={v}"]).format(v=v), v


@kind("generic-secret-word-in-name", GEN + "; a random value assigned to a longer name holding secret/token/creds (my_api_token_2 = V)", "CONFIG", uri=False, examples=3)
def _secret_name():
    v = _mixed(24, 48)
    return R.choice(["some_api_token_2 = \"{v}\"", "mySecretValue={v}", "\"credentials\": \"{v}\"", "creds = {v}", "deploy_token_prod: {v}"]).format(v=v), v


@kind("secret-word-before-token", GEN + "; a random token written right after secret/token/credentials in prose", "NOTE", uri=False, examples=3)
def _secret_prose():
    v = _mixed(24, 40)
    return R.choice(["You can find the acme secret {v} in the vault", "use the deploy token {v} for staging", "credentials {v} were rejected by the API",
                    "[INFO] billing api key {v} loaded"]).format(v=v), v


@kind("libpq-conninfo-password", "https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-KEYWORD-VALUE (host=H port=P dbname=D user=U password=V)",
      "PG_CONNINFO", uri=False)
def _libpq():
    p = password()
    return f"psql \"host=db.corp.example port=5432 dbname=app user=app password={p} sslmode=require\"", p


token_kind("aiven-service-password", "https://aiven.io/docs/platform/concepts/service-users (service passwords start with AVNS_; AVNS_ + 20 as publicly seen)", "AIVEN_PASSWORD",
           lambda: "AVNS_" + s(AN + "_-", 20))
token_kind("aws-bedrock-short-term-key", "https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys.html (short-term keys: bedrock-api-key- + base64)",
           "AWS_BEARER_TOKEN_BEDROCK", lambda: "bedrock-api-key-" + b64(b"bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Credential=" + s(B64, 60).encode()), uri=False)
token_kind("azure-app-insights-key", "https://learn.microsoft.com/en-us/azure/azure-monitor/app/connection-strings (InstrumentationKey=<uuid>)", "APPLICATIONINSIGHTS_CONNECTION_STRING",
           uuid4, uri=False, ctx="InstrumentationKey={t};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/")
token_kind("adobe-client-secret", "https://developer.adobe.com/developer-console/docs/guides/credentials/ (client secret: p8e- + 32, as publicly seen)", "ADOBE_CLIENT_SECRET",
           lambda: "p8e-" + s(AN, 32))
token_kind("openshift-oauth-token", "https://docs.openshift.com/container-platform/4.16/authentication/managing-oauth-access-tokens.html (sha256~ + 43 base64url)", "OC_TOKEN",
           lambda: "sha256~" + s(B64U, 43), ctx="oc login --token={t} --server=https://api.ocp.corp.example:6443")
token_kind("nuget-api-key", "https://learn.microsoft.com/en-us/nuget/nuget-org/publish-a-package#create-api-keys (oy2 + 43 lowercase letters and digits, as publicly seen)",
           "NUGET_API_KEY", lambda: "oy2" + s(ANL, 43))
token_kind("maxmind-license-key", "https://dev.maxmind.com/geoip/updating-databases (license key; current keys: 6 + _ + 29 + _mmk, as publicly seen)", "MAXMIND_LICENSE_KEY",
           lambda: s(AN, 6) + "_" + s(AN, 29) + "_mmk")
token_kind("gitlab-session-cookie", "https://docs.gitlab.com/ee/user/profile/#cookies-used-for-sign-in (_gitlab_session cookie, 32 hex)", "COOKIE",
           lambda: s(HEX, 32), uri=False, ctx="Cookie: _gitlab_session={t}; preferred_language=en")
token_kind("facebook-app-access-token", "https://developers.facebook.com/docs/facebook-login/guides/access-tokens#apptokens (app id|app secret)", "FACEBOOK_APP_TOKEN",
           lambda: s(DIG, 15, 16) + "|" + s(B64U, 32), uri=False, ctx="facebook app token: access_token={t}")
token_kind("softlayer-api-key-url", "https://sldn.softlayer.com/article/authenticating-softlayer-api/ (64-char API key; here in a v3 URL path)", "SL_URL",
           lambda: s(ANL, 64), uri=False, ctx="https://api.softlayer.com/rest/v3/{t}/SoftLayer_Account.json")


# ---------------------------------------------------------------------------------------------
# Negative kinds: near-misses an auditor would NOT want altered. Each returns a text; the
# flag says whether the value is itself a hash or URI (so it may sit in a ref field).
NEG = []
EXAMPLE = [0]  # the index of the example being drawn, so each() walks every option in turn


def each(options):
    return options[EXAMPLE[0] % len(options)]



def neg(kid, why, var, ref_shaped=False, examples=12):
    def wrap(fn):
        NEG.append({"id": kid, "gen": fn, "why": why, "var": var, "ref": ref_shaped, "n": examples})
        return fn
    return wrap


neg("uuid", "UUIDs (request, object and session ids)", "REQUEST_ID")(uuid4)
neg("git-sha", "git commit ids", "GIT_COMMIT")(lambda: s(HEX, 40))
neg("git-short-sha", "abbreviated commit ids in messages", "COMMIT")(lambda: f"commit {s(HEX, 7)} (HEAD -> main)")
neg("sha256-hex", "bare sha256 digests", "CHECKSUM")(lambda: s(HEX, 64))
neg("sha256-ref", "hash refs sha256:<hex>", "DIGEST", ref_shaped=True)(lambda: "sha256:" + s(HEX, 64))
neg("md5-hex", "md5 checksums", "MD5")(lambda: s(HEX, 32))
neg("sha512-integrity", "Subresource/lockfile integrity strings", "INTEGRITY")(lambda: "sha512-" + b64(rnd_bytes(64)))
neg("docker-image-digest", "image references with digests", "IMAGE", ref_shaped=False)(
    lambda: f"ghcr.io/corp/agent@sha256:{s(HEX, 64)}")
neg("container-id", "Docker container ids", "CONTAINER_ID")(lambda: s(HEX, 64))
neg("base64-text", "base64 of ordinary text", "PAYLOAD")(
    lambda: b64(each(["hello world, build finished", "The quick brown fox jumps over the lazy dog", "{\"status\":\"ok\",\"items\":12}",
                          "line one\nline two\nline three", "Release notes for version 2.4.1"]).encode()))
neg("base64-image", "inline data URIs", "IMG")(lambda: "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAA" + b64(rnd_bytes(60)))
neg("file-path", "file paths", "PATH")(
    lambda: each(["/home/dev/projects/app/src/", "/var/lib/agent/cache/", "C:\\Users\\dev\\AppData\\Local\\", "./node_modules/.bin/"]) +
    each(["config.yaml", "secrets.example.env", "token_store.py", "password_reset.html", "api_keys.md", "credentials.template.json"]))
neg("clean-url", "URLs without credentials", "URL", ref_shaped=True)(
    lambda: each(["https://api.github.com/repos/corp/app/pulls?state=open&page=", "https://docs.corp.example/guide/auth#tokens-",
                      "https://registry.npmjs.org/left-pad/-/left-pad-1.3.", "s3://agent-artifacts/run-"]) + s(DIG, 1, 4))
neg("url-with-user-only", "URLs with a user name but no password", "URL", ref_shaped=True)(
    lambda: f"ssh://git@github.com/corp/app-{s(ANL, 4)}.git")
neg("url-with-ids", "URLs with high-entropy ids in the path", "URL", ref_shaped=True)(
    lambda: f"https://console.aws.amazon.com/ec2/home?region=us-east-1#InstanceDetails:instanceId=i-0{s(HEX, 16)}")
neg("version-string", "version strings", "VERSION")(lambda: each(["v", "", "release-"]) + f"{R.randint(0, 9)}.{R.randint(0, 40)}.{R.randint(0, 99)}" +
                                                    each(["", "-rc.1", "+build.20260101", "-beta.2"]))
neg("placeholder-your-key", "documentation placeholders", "API_KEY")(
    lambda: each(["YOUR_API_KEY", "<your-api-key>", "your_token_here", "INSERT_KEY_HERE", "REPLACE_ME", "<token>", "{{API_KEY}}", "<YOUR_SECRET>"]))
neg("placeholder-assignment", "assignments whose value is a placeholder", "API_KEY", examples=15)(
    lambda: each(["API_KEY=YOUR_API_KEY", "password = \"changeme\"", "token: <token>", "secret=xxxxxxxxxxxx", "OPENAI_API_KEY=sk-...",
                      "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "password: ********", "api_key: \"<redacted>\"",
                      "AWS_SECRET_ACCESS_KEY=your-secret-key", "STRIPE_KEY=sk_test_XXXXXXXXXXXXXXXXXXXXXXXX", "\"password\": \"\"",
                      "client_secret = \"REPLACE_WITH_CLIENT_SECRET\"", "token=dummy", "password=password", "DB_PASSWORD=example"]))
neg("env-reference", "assignments that reference a variable or vault, not a value", "API_KEY")(
    lambda: each(["password: ${DB_PASSWORD}", "token = os.environ[\"GITHUB_TOKEN\"]", "api_key=settings.API_KEY", "SECRET_KEY=$SECRET_KEY",
                      "password = getpass.getpass()", "token: {{ secrets.DEPLOY_TOKEN }}", "key: !vault |", "apiKey: process.env.STRIPE_KEY",
                      "password: ${{ secrets.REGISTRY_PASSWORD }}", "AUTH_TOKEN=\"$(vault kv get -field=token secret/ci)\"",
                      "secret = config.get('app', 'secret')", "password=%(DB_PASSWORD)s"]))
neg("secret-word-no-value", "the words password/token/secret without a value", "MSG", examples=15)(
    lambda: each(["password reset email sent", "Enter password:", "invalid api key", "token expired, refreshing", "--password",
                      "secret scanning enabled for the repository", "set AWS_SECRET_ACCESS_KEY before running", "the token was revoked",
                      "Authorization: Bearer", "password_policy: strict", "api_key_id missing", "forgot your password?"]))
neg("prefix-wrong-length", "provider prefixes with the wrong length or alphabet", "ID", examples=15)(
    lambda: each(["ghp_" + s(AN, 8), "AKIA" + s(B32, 6), "sk_live_" + s(AN, 5), "xoxb-" + s(DIG, 4), "glpat-" + s(AN, 6), "npm_" + s(AN, 10),
                      "hf_" + s(LO, 6), "AIza" + s(AN, 10), "SG." + s(AN, 8), "dop_v1_" + s(HEX, 10), "AKIA" + s(LO, 16), "xoxb-your-bot-token",
                      "sk-ant-api03-", "github_pat_", "dckr_pat_" + s(AN, 4)]))
neg("prefix-as-word", "token prefixes used as ordinary identifiers", "NAME", examples=15)(
    lambda: each(["sk-learn", "ghp_token_format", "pk_test", "AKIA_PREFIX", "xoxb-token-type", "glpat-prefix", "npm_config_cache",
                      "hf_hub_download", "sk_live_mode", "api_org_chart", "sq0atp_legacy", "key-value store", "pypi-server", "dckr_pat_docs"]))
neg("request-id", "request ids from APIs", "REQUEST_ID")(
    lambda: each(["req_" + s(AN, 24), "x-request-id: " + uuid4(), "RequestId: " + s(ANU, 16), "cf-ray: " + s(HEX, 16) + "-FRA",
                      "x-amz-request-id: " + s(ANU, 16), "X-GitHub-Request-Id: " + f"{s(HEXU, 4)}:{s(HEXU, 5)}:{s(HEXU, 6)}:{s(HEXU, 7)}:{s(HEXU, 8)}"]))
neg("trace-id", "W3C trace context / OpenTelemetry ids", "TRACE_ID")(
    lambda: each([f"traceparent: 00-{s(HEX, 32)}-{s(HEX, 16)}-01", f"trace_id={s(HEX, 32)} span_id={s(HEX, 16)}",
                      f"X-Amzn-Trace-Id: Root=1-{s(HEX, 8)}-{s(HEX, 24)}", f"x-b3-traceid: {s(HEX, 16)}"]))
neg("cloud-resource-id", "cloud resource ids and ARNs", "RESOURCE")(
    lambda: each([f"arn:aws:iam::{s(DIG, 12)}:role/ci-deployer", f"i-0{s(HEX, 16)}", f"sg-0{s(HEX, 16)}", f"ami-0{s(HEX, 16)}",
                      f"/subscriptions/{uuid4()}/resourceGroups/rg-prod/providers/Microsoft.Storage/storageAccounts/corp{s(ANL, 6)}",
                      f"projects/corp-{s(ANL, 6)}/locations/us-central1/functions/ingest"]))
neg("provider-object-id", "provider object ids that are not credentials", "OBJECT_ID")(
    lambda: each(["cus_" + s(AN, 14), "pi_" + s(AN, 24), "evt_" + s(AN, 24), "chatcmpl-" + s(AN, 29), "msg_01" + s(AN, 22),
                      "file-" + s(AN, 24), "run_" + s(AN, 24), "C0" + s(ANU, 9), "U0" + s(ANU, 9), "prj_" + s(AN, 24), "toolu_01" + s(AN, 22)]))
neg("public-identifier", "public keys and ids meant to be shared", "PUBLIC_KEY")(
    lambda: each(["pk_live_" + s(AN, 24), "pk_test_" + s(AN, 24), "G-" + s(ANU, 10), "UA-" + s(DIG, 8) + "-1",
                      "ca-pub-" + s(DIG, 16), bech32_encode("age", rnd_bytes(32)), "AC" + s(HEX, 32),
                      "npub1" + s("qpzry9x8gf2tvdw0s3jn54khce6mua7l", 58)]))
neg("ssh-public-key", "SSH public keys", "SSH_PUBKEY")(
    lambda: each(["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + s(B64, 43) + " dev@laptop",
                      "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ" + s(B64, 200) + " ci@runner"]))
neg("certificate-or-public-key", "PEM certificates and public keys", "CERT")(
    lambda: pem(each(["CERTIFICATE", "PUBLIC KEY", "CERTIFICATE REQUEST"]), each([294, 600, 900])))
neg("pgp-public-key", "PGP public key blocks", "PGP")(lambda: pem("PGP PUBLIC KEY BLOCK", 500))
neg("high-entropy-id", "opaque ids: ULIDs, Mongo ObjectIds, Drive file ids, snowflakes", "ID")(
    lambda: each([s("0123456789ABCDEFGHJKMNPQRSTVWXYZ", 26), s(HEX, 24), "1" + s(B64U, 32), s(DIG, 18, 19), s(B64U, 11), "ord_" + s(ANU, 20)]))
neg("hash-in-name", "content-hashed build artefacts", "ASSET")(
    lambda: each(["main.", "vendor.", "chunk-", "app."]) + s(HEX, 8, 20) + each([".js", ".css", ".js.map"]))
neg("bcrypt-hash", "password hashes (not the password)", "PASSWORD_HASH")(lambda: "$2b$12$" + s("./" + AN, 53))
neg("low-entropy-value", "secret-named keys with trivial values", "CONFIG")(
    lambda: each(["password=123456", "token: null", "api_key: none", "secret: false", "password: true", "TOKEN=0", "timeout_secret_ms=5000",
                      "token_count=4096", "max_tokens: 1024", "api_key_header: X-API-Key", "password_min_length=12", "token_type: bearer"]))
neg("masked-secret", "values already masked by another tool", "MASKED")(
    lambda: each(["ghp_****************************" + s(AN, 4), "sk-...'" + s(AN, 4), "AKIA************" + s(ANU, 4), "***", "[REDACTED]",
                      "xoxb-***-***", "password=********", "Bearer <hidden>", "token: ●●●●●●●●"]))
neg("ip-and-mac", "addresses", "ADDR")(
    lambda: each([f"fe80::{s(HEX, 4)}:{s(HEX, 4)}:{s(HEX, 4)}:{s(HEX, 4)}", ":".join(s(HEX, 2) for _ in range(6)),
                      f"10.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}:8080"]))
neg("dates-and-numbers", "timestamps, durations, counters", "TS")(
    lambda: each([f"2026-0{R.randint(1, 9)}-1{R.randint(0, 9)}T0{R.randint(0, 9)}:1{R.randint(0, 9)}:00Z", f"{R.randint(10**12, 10**13)}",
                      f"elapsed={R.randint(1, 999)}ms", f"{R.randint(1, 99)}% done ({R.randint(1, 999)}/{R.randint(1000, 2000)})"]))
neg("code-identifier", "identifiers in code that mention secrets", "CODE")(
    lambda: each(["def rotate_api_key(client, key_id):", "const tokenRefreshIntervalMs = 300000;", "class PasswordValidator(BaseValidator):",
                      "if not secret_manager.exists(name):", "GetSecretValueRequest{SecretId: aws.String(name)}", "import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';",
                      "self.access_token_expires_at = now + ttl", "fn load_private_key(path: &Path) -> Result<Key>"]))
neg("git-output", "git command output", "GIT")(
    lambda: each([f"Merge pull request #{R.randint(1, 9999)} from corp/fix-token-refresh", f"{s(HEX, 7)}..{s(HEX, 7)}  main -> main",
                      f"index {s(HEX, 7)}..{s(HEX, 7)} 100644", f"remote: Resolving deltas: 100% ({R.randint(1, 99)}/{R.randint(100, 200)}), done."]))
neg("package-spec", "package names and lock entries", "PKG")(
    lambda: each([f"\"resolved\": \"https://registry.npmjs.org/jsonwebtoken/-/jsonwebtoken-9.0.{R.randint(0, 9)}.tgz\"",
                      f"requests=={R.randint(2, 3)}.{R.randint(0, 32)}.{R.randint(0, 9)}", f"github.com/golang-jwt/jwt/v5 v5.{R.randint(0, 3)}.0 h1:{b64(rnd_bytes(32))}",
                      f"keyring-{R.randint(20, 25)}.{R.randint(0, 9)}.0-py3-none-any.whl"]))
neg("kubernetes-names", "generated object names", "POD")(lambda: f"deploy-{s(ANL, 5)}-{s(ANL, 10)}-{s(ANL, 5)}")
neg("aws-example-style-not-key", "AWS-looking strings that are not key ids", "AWS")(
    lambda: each([f"AKID{s(LO, 3)}", "AIDA is the prefix of IAM user ids", f"AROA{s(B32, 17)}", f"AIDA{s(B32, 17)}", f"ANPA{s(B32, 17)}"]))
neg("jwt-header-only", "half a JWT: a header or a non-JWT eyJ string", "JWT_PART")(
    lambda: each([b64url(json.dumps({"alg": "RS256", "kid": s(HEX, 8)}).encode()), "eyJ" + "hbGciOiJub25lIn0", "Authorization header must start with eyJ"]))
neg("secret-reference", "names of secrets in a vault, not their values", "SECRET_NAME")(
    lambda: each(["secret_name: prod/db/password", "SecretId: arn:aws:secretsmanager:eu-west-1:" + s(DIG, 12) + ":secret:prod/api-key-" + s(AN, 6),
                      "vault kv get secret/ci/github-token", "valueFrom: {secretKeyRef: {name: db-credentials, key: password}}",
                      "gcloud secrets versions access latest --secret=stripe-api-key", "keyvault: https://corp-kv.vault.azure.net/secrets/sql-password"]))
neg("typed-declaration", "declarations of secret-named variables without a value", "CODE")(
    lambda: each(["password: str", "token: Optional[str] = None", "apiKey: string;", "private String password;", "var secret []byte",
                      "api_key = api_key", "password=hash_password(raw_password)", "token = generate_token(user.id)", "self.secret = secret",
                      "def login(username, password):", "func NewClient(apiKey string) *Client {", "let token = req.headers.authorization;"]))
neg("templated-credentials", "credentials filled in from variables at run time", "TEMPLATE")(
    lambda: each(["Authorization: Bearer $TOKEN", "Authorization: Bearer ${GITHUB_TOKEN}", "curl -u \"$USER:$PASS\" https://nexus.corp.example",
                      "curl -u admin https://nexus.corp.example", "https://${DB_USER}:${DB_PASS}@db.internal/app", "postgres://app:<password>@db.internal:5432/prod",
                      "mysql://user:password@localhost:3306/test", "<%= ENV[\"SECRET_KEY_BASE\"] %>", "password: %DB_PASSWORD%", "token=$(cat /run/secrets/token)",
                      "docker login -u ci --password-stdin < token.txt", "-p \"$REGISTRY_PASSWORD\""]))
neg("secret-named-non-secret", "secret-sounding keys holding ids, digests or sizes", "CONFIG", examples=15)(
    lambda: each([f"cache_key={s(HEX, 64)}", f"idempotency-key: {uuid4()}", f"key_id: {s(HEX, 16)}", f"\"kid\": \"{s(HEX, 40)}\"",
                      f"client_id={uuid4()}", f"tenant_id: {uuid4()}", f"token_id={s(DIG, 6)}", f"secret_version: {R.randint(1, 30)}",
                      f"password_changed_at: 2026-01-0{R.randint(1, 9)}", f"public_key_fingerprint: SHA256:{b64(rnd_bytes(32)).rstrip('=')}",
                      f"\"etag\": \"W/\\\"{s(HEX, 32)}\\\"\"", f"nonce={s(HEX, 32)}", f"key: {s(HEX, 40)}.tar.zst", f"token_sha256: {s(HEX, 64)}"]))
neg("non-secret-key-names", "random-looking values under key names that are not secrets, and secret words in ordinary prose", "CONFIG", examples=16)(
    lambda: each([f"primaryKey={s(AN, 30)}", f"sort_key: {s(LO, 6)}-{s(DIG, 10)}", f"\"partition_key\": \"tenant-{s(HEX, 12)}\"",
                  f"cacheKey: {s(HEX, 64)}", f"objectKey=uploads/{uuid4()}/data.json", f"idempotencyKey: \"{uuid4()}\"",
                  "rotated the secret manager-entry-prod-eu-1 today", f"token usage-report-2026-01-0{R.randint(1, 9)}.csv written",
                  f"secret_name = prod-db-credentials-{s(DIG, 2)}", f"api_key_id: {s(ANU, 20)}", f"registry key: runs/{s(HEX, 12)}/part-0001",
                  f"token_expires_at={R.randint(10**9, 2 * 10**9)}"]))
neg("oauth-public-params", "OAuth parameters that are not secrets (state, PKCE challenge, client id)", "URL", ref_shaped=True)(
    lambda: f"https://login.corp.example/oauth2/authorize?response_type=code&client_id={uuid4()}&state={s(B64U, 22)}"
            f"&code_challenge={s(B64U, 43)}&code_challenge_method=S256&redirect_uri=https%3A%2F%2Fapp.corp.example%2Fcb")
neg("payload-signature", "signatures of a payload (they grant no access)", "SIGNATURE")(
    lambda: each([f"X-Hub-Signature-256: sha256={s(HEX, 64)}", f"Stripe-Signature: t={R.randint(10**9, 2 * 10**9)},v1={s(HEX, 64)}",
                      f"X-Slack-Signature: v0={s(HEX, 64)}", f"signature verified: {s(HEX, 64)}"]))
neg("encoded-blob", "compressed or serialized payloads in base64", "BLOB")(
    lambda: each(["H4sIAAAAAAAA/" + s(B64, 80), "UEsDBBQAAAAI" + s(B64, 80), "CgR0ZXN0EgV2YWx1ZRo" + s(B64, 40),
                      "eJzLSM3JyVcozy/KSQEAGgQEXQ=="]))
neg("public-key-material", "public keys in config (WireGuard, JWKS)", "PUBLIC_KEY")(
    lambda: each([f"PublicKey = {b64(rnd_bytes(32))}", f"\"n\": \"{b64url(rnd_bytes(256))}\", \"e\": \"AQAB\"", f"\"x\": \"{b64url(rnd_bytes(32))}\"",
                      f"ssh-keygen -lf key.pub: 256 SHA256:{b64(rnd_bytes(32)).rstrip('=')} ci@runner (ED25519)"]))
neg("url-secretish-params", "URLs whose query names sound secret but hold page tokens, ids or placeholders", "URL", ref_shaped=True)(
    lambda: each([f"https://www.googleapis.com/drive/v3/files?pageToken={s(B64U, 40)}&pageSize=100",
                      "https://api.corp.example/v1/items?cursor=" + b64(json.dumps({"id": int(s(DIG, 8))}).encode()).rstrip("=") + "&limit=50",
                      "https://docs.corp.example/api/auth?token=YOUR_TOKEN", "https://github.com/settings/tokens/new?scopes=repo&description=ci",
                      f"https://api.corp.example/v1/keys?key_id={uuid4()}", f"https://corp.example/login?next=%2Fsettings%2Fsecrets&session_state={uuid4()}",
                      "https://platform.openai.com/api-keys", f"https://api.corp.example/v2/tokens/{s(DIG, 6)}/revoke",
                      f"https://www.youtube.com/watch?v={s(B64U, 11)}&t=42s", f"https://maps.corp.example/tiles/{R.randint(1, 18)}/{R.randint(0, 9999)}.png?access=public"]))
neg("format-description", "prose describing token formats (agents read documentation)", "DOC")(
    lambda: each(["GitHub classic tokens start with ghp_ followed by 36 characters", "Stripe secret keys look like sk_live_ plus a random suffix",
                  "AWS access key ids begin with AKIA (long-term) or ASIA (temporary)", "Slack bot tokens have the form xoxb-<team>-<bot>-<secret>",
                  "set OPENAI_API_KEY to the key shown once in the dashboard", "a JWT has three base64url parts separated by dots",
                  "PEM private keys start with -----BEGIN PRIVATE KEY-----", "the password must be at least 12 characters long",
                  "rotate the Azure storage AccountKey every 90 days", "tokens are passed as Authorization: Bearer <token>"]))
neg("fake-test-values", "obviously fake values in tests and examples", "TEST")(
    lambda: each(['FAKE_TOKEN = "fake-token-for-tests"', '"api_key": "test-api-key"', 'password="not-a-real-password"', "SECRET_KEY=dev-secret-key",
                  'token: "dummy-token"', "API_KEY=foo", "client_secret: example-client-secret",
                  'mock_token = "mock"', "AWS_SECRET_ACCESS_KEY=testing", "DJANGO_SECRET_KEY=insecure-dev-only"]))
neg("assignment-operator-references", "?=, +=, .= and typed declarations whose value is a reference or call", "CODE")(
    lambda: each(["DEPLOY_TOKEN ?= $(shell cat token.txt)", "CI_API_TOKEN += $(EXTRA_TOKEN)", '$authToken .= $suffix;', "var serviceToken string",
                  "REGISTRY_TOKEN ::= $(REGISTRY_TOKEN_FILE)", "deployToken := os.Getenv(\"DEPLOY_TOKEN\")", 'NSString *apiKey = [config objectForKey:@"apiKey"];',
                  "vault_token: |\n  {{ vault_token }}\n", "<authToken>\n    ${AUTH_TOKEN}\n</authToken>"]))
neg("symbol-value-code", "secret-named assignments whose value is code with brackets, not a password", "CODE")(
    lambda: each(["password = getpass.getpass(prompt)", 'api_key = cfg["service"]["api_key"]', "secret = os.environ[name]",
                  "token = request.headers.get(header)", "password: ${DB_PASSWORD}", "api_key: {{ .Values.apiKey }}", "token = <TOKEN>",
                  "password = hash(salt + user)", "secret = read_secret(path)[0]"]))
neg("secret-name-not-the-secret", "names that say the value is not the secret: a file, a name, a policy, a prompt", "CODE")(
    lambda: each(['password_file = "/run/secrets/db_password"', 'secret_name = "prod-db-credentials"', 'passwordless = "enabled"',
                  'secretary = "Jane Doe"', 'password_policy: "strong"', 'api_key_header = "X-API-Key"', 'password_prompt = "Enter your password:"',
                  'if (status === "expired") reset(password_state)', 'if (typeof password === "string")', 'password_min_length = "12"',
                  'api_key_name = "ci-deploy"', 'password_reset_url = "https://corp.example/reset"']))
neg("secret-word-status-values", "secret names followed by a status word or the name of a secret object, as logs and Helm values write them", "CONFIG")(
    lambda: each(["login failed: password: incorrect", "error: api_key: missing from request", "existingSecret: postgresql", "secretName: tlssecret",
                  "auth: {type: password, passwordSecret: dbcreds}", "password: required (min 12 chars)", "secret_store: vaultbackend",
                  "new password: confirmed", "password_strength: moderate", "api_key: redacted", "set password=prompt", "secret: Opaque"]))
neg("code-near-secret-names", "code and config where a secret-named key holds a mode, a type, a date, another variable or a path", "CODE")(
    lambda: each(["fetch(url, { method: 'POST', credentials: 'include' })", 'if (typeof password === "function")',
                  '"PasswordLastUsed": "2024-11-02T10:00:00Z"', "password = newPassword,", "this.password = hashedPassword;", "api_key: SecretStr",
                  "password_change: succeeded", "serviceAccountSecret: automatic", "<PasswordField>{props.label}</PasswordField>",
                  'if "inline" == pass.name:', "secrets: inherit", 'ssl_password_file "/etc/nginx/ssl/global.pass";']))
neg("csv-and-listing-headers", "CSV headers and token listings without values", "CSV")(
    lambda: each(["name,api_token,expires_at", "id,token,created,revoked", "staging token - '<redacted>'", "prod token - 'see vault'",
                  "api_token,scope,owner", "ci token - 'rotated'"]))
neg("artifactory-near-miss", "Artifactory-looking ids and references that are not credentials", "JFROG")(
    lambda: each(["X-JFrog-Art-Api: $ARTIFACTORY_API_KEY", "artifactory build APB2024 finished", "jfrog rt upload --flat AP3 build/",
                  "artifactory mirror in region APAC-east-2", "AKC-2024 conference notes", "jfrog config add corp --artifactory-url https://corp.jfrog.io/artifactory/"]))
neg("question-mark-near-miss", "token-like values broken by a '?', as in a mangled paste", "TOKEN")(
    lambda: f"acme token = '{s(AN, 12)}?{s(AN, 19)}'")
neg("plain-message", "ordinary agent messages (control)", "MSG")(
    lambda: each(["build succeeded in 42s", "3 tests failed; see report", "opened pull request for review", "cloned repository corp/app",
                      "installed 214 packages", "compiled 87 files", "waiting for approval from reviewer"]))


# ---------------------------------------------------------------------------------------------
# Placements.
FREE = ["ran curl with {v} then exited", "the agent printed {v} in its reply", "error: server rejected {v} (401)", "copied {v} into the clipboard",
        "tool output: {v}", "{v}", "Found value '{v}' in the log", "step 3/5 used ({v}) and continued",
        "Set it in your environment: `{v}` and restart the server.", "Schlüssel übernommen: {v} — gespeichert", "已使用 {v} 登录成功",
        "> {v}\n\nThat line came from the deploy log."]
URI_PATH = ["https://artifacts.corp.example/runs/{v}/stdout.txt", "s3://agent-artifacts/uploads/{v}/result.json", "https://ci.corp.example/job/{v}/console",
            "file:///home/dev/.cache/agent/{v}/out.log", "https://storage.corp.example/share/{v}"]
SNIP_TOKEN = ["wrote .env:\nNODE_ENV=production\n{var}={v}\nPORT=8080\n", "```yaml\nenv:\n  {var}: {v}\n  REGION: eu-west-1\n```",
              "created config.json: {{\"region\": \"eu-west-1\", \"{varl}\": \"{v}\"}}", "```python\nimport os\nos.environ[\"{var}\"] = \"{v}\"\nmain()\n```",
              "$ export {var}={v}\n$ ./deploy.sh --prod"]
SNIP_TEXT = ["```\n{v}\n```", "patched file:\n--- a/config\n+++ b/config\n+{v}\n", "cat output:\n{v}\n(end of file)", "```sh\nset -e\n{v}\necho done\n```"]


def base_record(rid, message=None, input_ref=None):
    rec = {"event_time": "2026-01-15T09:30:00Z", "agent_id": "corpus-agent", "agent_version": "1.0.0", "run_id": rid, "event_type": "tool_call",
           "actor_id": "user:dev", "tool_name": "shell", "tool_action": "execute", "tool_target": "/workspace/app", "auth_context": "role:developer",
           "input_ref": input_ref or "sha256:" + hashlib.sha256(rid.encode()).hexdigest(),
           "output_ref": "sha256:" + hashlib.sha256((rid + "/out").encode()).hexdigest(), "decision": "allow", "evidence_ref": "urn:evidence:corpus:" + rid}
    if message is not None:
        rec["details"] = {"message": message}
    return rec


URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(//|[A-Za-z0-9+.-]+://)")


def is_uri_ref(text):
    """A URL the whole ref can be (https://…, mongodb+srv://…, jdbc:postgresql://…)."""
    return " " not in text and "\n" not in text and (bool(URI_SCHEME.match(text)) or text.startswith("urn:"))


def placements(text, secret, var, uri_ok, is_url):
    """Yields (placement, field, value, secret-as-it-appears)."""
    yield "free_text", "details.message", R.choice(FREE).format(v=text), secret
    yield "ref", "input_ref", text, secret
    if is_url:
        yield "uri", "input_ref", text, secret  # the whole ref is the URI (webhooks, userinfo, query)
    elif uri_ok:  # the secret alone as a path segment, percent-encoded
        enc_secret = urllib.parse.quote(secret, safe="-._~")
        yield "uri", "input_ref", R.choice(URI_PATH).format(v=enc_secret), enc_secret
    if text == secret and "\n" not in text:
        snip = R.choice(SNIP_TOKEN).format(var=var, varl=var.lower(), v=text)
    else:
        snip = R.choice(SNIP_TEXT).format(v=text)
    yield "snippet", "details.message", snip, secret


def group_of(k):
    """The family a positive kind belongs to, for the report's per-group recall."""
    kid, source = k["id"], k["source"]
    if kid.endswith("-url") and ("hook" in kid or kid in ("jenkins-build-token-url", "telegram-bot-api-url")):
        return "webhook-url"
    if kid.startswith(("private-key", "putty-private-key", "gcp-service-account-key", "kubeconfig-client-key-data")):
        return "private-key"
    if kid.endswith("-url") or kid.startswith(("connection-string", "percent-encoded", "uri-userinfo", "query-api-key", "azure-functions-key",
                                               "azure-sas-token", "aws-presigned", "gcs-signed")):
        return "uri-credential"
    if source.startswith(GEN) or kid.startswith(("authorization-", "api-key-header", "curl-user", "cli-password", "pgpassword", "netrc",
                                                 "npmrc", "docker-config-auth", "session-cookie", "splunk-hec")):
        return "keyword-assignment"
    return "provider-token"


def main():
    records, labels = [], []
    n = 0

    def add(label, kid, placement, field, value, secret=None, group=None):
        nonlocal n
        n += 1
        rid = f"corpus-{'p' if label == 'positive' else 'n'}-{n:05d}"
        rec = base_record(rid, message=value if field == "details.message" else None, input_ref=value if field == "input_ref" else None)
        if secret is not None:
            assert secret in value, (kid, secret, value)
        records.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
        lab = {"id": rid, "label": label, "kind": kid, "group": group or "negative", "placement": placement, "field": field}
        if secret is not None:
            lab["secret"] = secret
        labels.append(json.dumps(lab, ensure_ascii=False, separators=(",", ":")))

    ids = [k["id"] for k in KINDS]
    assert len(ids) == len(set(ids)), "duplicate kind id"
    # Each kind draws from its own seed, so adding or changing a kind leaves the others' cases as they were.
    for k in KINDS:
        R.seed(f"{SEED}:positive:{k['id']}")
        for _ in range(k["n"]):
            text, secret = k["gen"]()
            for placement, field, value, sec in placements(text, secret, k["var"], k["uri"] and "\n" not in text, is_uri_ref(text)):
                add("positive", k["id"], placement, field, value, sec, group_of(k))
    for k in NEG:
        R.seed(f"{SEED}:negative:{k['id']}")
        for e in range(k["n"]):
            EXAMPLE[0] = e
            text = k["gen"]()
            add("negative", k["id"], "free_text", "details.message", R.choice(FREE).format(v=text))
            if k["ref"]:
                add("negative", k["id"], "ref", "input_ref", text)
            if "\n" not in text and " " not in text:
                add("negative", k["id"], "uri", "input_ref", R.choice(URI_PATH).format(v=urllib.parse.quote(text, safe="-._~")))
            if "\n" not in text and " " not in text and "=" not in text and ":" not in text:
                add("negative", k["id"], "snippet", "details.message", R.choice(SNIP_TOKEN).format(var=k["var"], varl=k["var"].lower(), v=text))
            else:
                add("negative", k["id"], "snippet", "details.message", R.choice(SNIP_TEXT).format(v=text))

    out = {
        "corpus.jsonl": "\n".join(records) + "\n",
        "corpus.labels.jsonl": "\n".join(labels) + "\n",
        "README.md": readme(labels),
    }
    stale = False
    for name, text in out.items():
        path = os.path.join(HERE, name)
        if "--check" in sys.argv:
            with open(path, encoding="utf-8") as f:
                if f.read() != text:
                    print(f"stale: {path}", file=sys.stderr)
                    stale = True
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    npos = sum(1 for l in labels if '"positive"' in l)
    print(f"make_corpus: {npos} positives over {len(KINDS)} kinds, {len(labels) - npos} negatives over {len(NEG)} kinds", file=sys.stderr)
    return 1 if stale else 0


def readme(labels):
    counts = {}
    for l in labels:
        d = json.loads(l)
        counts[(d["label"], d["kind"])] = counts.get((d["label"], d["kind"]), 0) + 1
    npos = sum(v for (lab, _), v in counts.items() if lab == "positive")
    nneg = sum(v for (lab, _), v in counts.items() if lab == "negative")
    out = [open(os.path.join(HERE, "README.head.md"), encoding="utf-8").read().rstrip("\n"), "",
           f"## Kinds of secret ({len(KINDS)} kinds, {npos} positive records)", "",
           "| kind | group | records | shape and its source |", "|---|---|---|---|"]
    for k in KINDS:
        src = k["source"].replace("|", "\\|")
        out.append(f"| `{k['id']}` | {group_of(k)} | {counts[('positive', k['id'])]} | {src} |")
    out += ["", f"## Negatives ({len(NEG)} kinds, {nneg} records)", "", "| kind | records | what it is |", "|---|---|---|"]
    for k in NEG:
        out.append(f"| `{k['id']}` | {counts[('negative', k['id'])]} | {k['why']} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
