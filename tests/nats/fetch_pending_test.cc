// Issue 22's cause, reproduced without faults: a pull fetch that starts with messages already
// queued in its subscription. libnats 3.4.1's natsSubscription_Fetch then counts towards
// `batch` minus the queued number and stores every further message past the end of its
// `batch`-sized array (a heap overflow; valgrind: "Invalid write of size 8 ... 0 bytes after a
// block" in _fetch). The nats input fetches through fetch_messages() (nats_common.h), which
// must never return more than it was asked for, nor lose or reorder a message.
//
//     nats_fetch_pending_test nats://127.0.0.1:PORT [--raw]
//
// Against a JetStream server (run by tests/nats/run_nats_tests.py, check "fetch-pending"):
// creates a memory stream FETCHPENDING with 100 messages and a durable pull consumer, queues
// 7 messages in the subscription by a pull request of its own (to the subscription's inbox, as
// the late answer to an earlier fetch would), then fetches in batches of 10 while another
// such request for 20 arrives mid-fetch. Exits 0 when every fetch returned at most 10 and all
// 37 messages came once, in stream order; 1 otherwise. --raw calls natsSubscription_Fetch
// itself (to show the library's overflow; it corrupts this process's heap).
#include <nats/nats.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "plugins/nats/nats_common.h"

namespace {

int fail(const char* what, natsStatus s) {
  std::fprintf(stderr, "fetch_pending_test: %s: %s\n", what, agentlog::plugins::nats::status_text(s).c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s nats://HOST:PORT [--raw]\n", argv[0]);
    return 2;
  }
  const bool raw = argc > 2 && std::strcmp(argv[2], "--raw") == 0;
  constexpr int kBatch = 10, kQueued = 7, kMidFetch = 20, kTotal = kQueued + kBatch + kMidFetch;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  if (natsStatus s = natsConnection_ConnectTo(&nc, argv[1]); s != NATS_OK) return fail("connect", s);
  if (natsStatus s = natsConnection_JetStream(&js, nc, nullptr); s != NATS_OK) return fail("JetStream", s);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  js_DeleteStream(js, "FETCHPENDING", nullptr, &jerr);  // a rerun starts afresh
  jsStreamConfig stream;
  jsStreamConfig_Init(&stream);
  stream.Name = "FETCHPENDING";
  const char* subjects[] = {"fetchpending"};
  stream.Subjects = subjects;
  stream.SubjectsLen = 1;
  stream.Storage = js_MemoryStorage;
  jsStreamInfo* info = nullptr;
  if (natsStatus s = js_AddStream(&info, js, &stream, nullptr, &jerr); s != NATS_OK) return fail("add stream", s);
  jsStreamInfo_Destroy(info);
  for (int i = 0; i < 100; ++i) {
    std::string data = "m" + std::to_string(i);
    if (natsStatus s = js_Publish(nullptr, js, "fetchpending", data.data(), static_cast<int>(data.size()), nullptr, &jerr);
        s != NATS_OK)
      return fail("publish", s);
  }
  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Stream = "FETCHPENDING";
  options.Config.AckPolicy = js_AckExplicit;
  natsSubscription* sub = nullptr;
  if (natsStatus s = js_PullSubscribe(&sub, js, "fetchpending", "pending", nullptr, &options, &jerr); s != NATS_OK)
    return fail("pull subscribe", s);
  // The subscription's inbox is where the library's own pull requests are answered.
  const std::string inbox = natsSubscription_GetSubject(sub);
  const char* next = "$JS.API.CONSUMER.MSG.NEXT.FETCHPENDING.pending";
  const std::string queued_request = "{\"batch\":" + std::to_string(kQueued) + "}";
  if (natsStatus s = natsConnection_PublishRequestString(nc, next, inbox.c_str(), queued_request.c_str()); s != NATS_OK)
    return fail("pull request", s);
  int queued = 0, bytes = 0;
  for (int i = 0; i < 500 && queued < kQueued; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    natsSubscription_GetPending(sub, &queued, &bytes);
  }
  if (queued != kQueued) {
    std::fprintf(stderr, "fetch_pending_test: %d messages queued, expected %d\n", queued, kQueued);
    return 2;
  }
  std::thread mid_fetch([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const std::string request = "{\"batch\":" + std::to_string(kMidFetch) + "}";
    natsConnection_PublishRequestString(nc, next, inbox.c_str(), request.c_str());
  });
  int bad = 0;
  std::vector<uint64_t> seqs;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (static_cast<int>(seqs.size()) < kTotal && std::chrono::steady_clock::now() < deadline) {
    natsMsgList list{};
    natsStatus s = raw ? natsSubscription_Fetch(&list, sub, kBatch, 1000, &jerr)
                       : agentlog::plugins::nats::fetch_messages(&list, sub, kBatch, 1000, &jerr);
    if (s != NATS_OK && s != NATS_TIMEOUT) {
      mid_fetch.join();
      return fail("fetch", s);
    }
    if (list.Count > kBatch) {
      std::fprintf(stderr, "fetch_pending_test: a fetch of at most %d returned %d messages (heap overflow)\n", kBatch,
                   list.Count);
      ++bad;
    }
    for (int i = 0; i < list.Count; ++i) {
      jsMsgMetaData* meta = nullptr;
      if (natsMsg_GetMetaData(&meta, list.Msgs[i]) == NATS_OK) {
        seqs.push_back(meta->Sequence.Stream);
        jsMsgMetaData_Destroy(meta);
      }
      natsMsg_Ack(list.Msgs[i], nullptr);
    }
    natsMsgList_Destroy(&list);
  }
  mid_fetch.join();
  for (size_t i = 0; i < seqs.size(); ++i) {
    if (seqs[i] != i + 1) {
      std::fprintf(stderr, "fetch_pending_test: message %zu has stream sequence %llu\n", i,
                   static_cast<unsigned long long>(seqs[i]));
      ++bad;
      break;
    }
  }
  if (static_cast<int>(seqs.size()) != kTotal) {
    std::fprintf(stderr, "fetch_pending_test: got %zu messages, expected %d\n", seqs.size(), kTotal);
    ++bad;
  }
  js_DeleteStream(js, "FETCHPENDING", nullptr, &jerr);
  natsConnection_Close(nc);  // before the subscription is destroyed (see Connection::close_connection)
  natsSubscription_Destroy(sub);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  std::printf("%s: %zu messages in fetches of at most %d, %s\n", raw ? "natsSubscription_Fetch" : "fetch_messages",
              seqs.size(), kBatch, bad ? "FAILED" : "ok");
  return bad ? 1 : 0;
}
