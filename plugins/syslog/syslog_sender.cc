#include "plugins/syslog/syslog_sender.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "core/signals.h"
#include "plugins/syslog/syslog_format.h"

namespace agentlog::plugins::syslog {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Sender::~Sender() {
  if (thread_.joinable()) {
    std::vector<UndeliveredMessage> ignored;
    cfg_.grace_ms = 0;
    finish(ignored);
  }
  if (fd_ >= 0) ::close(fd_);
}

void Sender::start() {
  // The thread must not take SIGINT/SIGTERM/SIGHUP: the main thread's blocking read relies
  // on EINTR to notice them.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  thread_ = std::thread([this] { run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void Sender::push(Chunk&& c) {
  size_t n = c.data.size();
  std::unique_lock lk(mu_);
  if (queued_bytes_ > 0 && queued_bytes_ + n > cfg_.buffer_bytes) {
    int64_t t0 = now_ms();
    // Backpressure: the pipeline waits here. After a stop signal the chunk is taken anyway
    // (at most one batch over the bound) so that shutdown can dead-letter it.
    while (queued_bytes_ > 0 && queued_bytes_ + n > cfg_.buffer_bytes && !stop_requested())
      space_cv_.wait_for(lk, std::chrono::milliseconds(100));
    stats_.blocked_ms += static_cast<uint64_t>(now_ms() - t0);
  }
  queued_bytes_ += n;
  if (queued_bytes_ > stats_.buffer_peak_bytes) stats_.buffer_peak_bytes = queued_bytes_;
  queue_.push_back(std::move(c));
  lk.unlock();
  work_cv_.notify_one();
}

bool Sender::drained() const {
  std::lock_guard lk(mu_);
  return queue_.empty() && !replay_pending_;
}

std::string Sender::last_error() const {
  std::lock_guard lk(mu_);
  return last_error_;
}

void Sender::set_error(std::string msg) {
  std::lock_guard lk(mu_);
  last_error_ = std::move(msg);
}

bool Sender::past_deadline() const { return now_ms() >= deadline_ms_.load(); }

void Sender::pause_ms(int ms) {
  int64_t end = now_ms() + ms;
  for (int64_t t = now_ms(); t < end && !past_deadline(); t = now_ms())
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(end - t, 20)));
}

void Sender::backoff() {
  backoff_ms_ = backoff_ms_ == 0 ? cfg_.retry_initial_ms : std::min(backoff_ms_ * 2, cfg_.retry_max_ms);
  pause_ms(backoff_ms_);
}

bool Sender::connect_once() {
  int type = cfg_.transport == Transport::Udp || cfg_.transport == Transport::UnixDgram ? SOCK_DGRAM : SOCK_STREAM;
  if (cfg_.transport == Transport::UnixDgram || cfg_.transport == Transport::UnixStream) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, cfg_.path.data(), std::min(cfg_.path.size(), sizeof address.sun_path - 1));
    int sock = ::socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sock < 0 || ::connect(sock, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      set_error(cfg_.label + ": connect: " + std::strerror(errno));
      if (sock >= 0) ::close(sock);
      return false;
    }
    fd_ = sock;
    return true;
  }
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = type;
  hints.ai_flags = AI_NUMERICSERV;
  std::string port = std::to_string(cfg_.port);
  if (int gai_status = ::getaddrinfo(cfg_.host.c_str(), port.c_str(), &hints, &res); gai_status != 0) {
    set_error(cfg_.label + ": cannot resolve host: " + gai_strerror(gai_status));
    return false;
  }
  std::string err = "no address";
  for (addrinfo* ai = res; ai && fd_ < 0; ai = ai->ai_next) {
    int sock = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (sock < 0) {
      err = std::strerror(errno);
      continue;
    }
    int connected = ::connect(sock, ai->ai_addr, ai->ai_addrlen);
    if (connected != 0 && errno == EINPROGRESS) {
      pollfd poll_entry{sock, POLLOUT, 0};
      int64_t wait = std::min<int64_t>(cfg_.connect_timeout_ms, std::max<int64_t>(deadline_ms_.load() - now_ms(), 0));
      int ready = ::poll(&poll_entry, 1, static_cast<int>(std::min<int64_t>(wait, INT32_MAX)));
      int error = ETIMEDOUT;
      socklen_t len = sizeof error;
      if (ready > 0) ::getsockopt(sock, SOL_SOCKET, SO_ERROR, &error, &len);
      connected = error == 0 ? 0 : -1;
      errno = error;
    }
    if (connected != 0) {
      err = std::strerror(errno);
      ::close(sock);
      continue;
    }
    if (type == SOCK_STREAM) {
      int one = 1;
      ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::setsockopt(sock, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    }
    fd_ = sock;
  }
  ::freeaddrinfo(res);
  if (fd_ < 0) set_error(cfg_.label + ": connect: " + err);
  return fd_ >= 0;
}

// Every lost connection leaves the replay window in doubt. Even an orderly close (FIN, all
// bytes acknowledged) is no proof: rsyslog can read messages and still drop them while it
// stops, which the restart test showed.
void Sender::disconnect() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  if (cfg_.stream() && !replay_.empty()) replay_pending_ = true;
}

bool Sender::connection_dead() {
  if (fd_ < 0) return true;
  pollfd p{fd_, POLLIN | POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  // A syslog receiver never sends: readable means EOF or an error. Stray bytes are discarded.
  char buf[512];
  ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) {
    while (::recv(fd_, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
    return false;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
  set_error(cfg_.label + ": the receiver closed the connection" +
            (n < 0 ? std::string(" (") + std::strerror(errno) + ")" : std::string()));
  return true;
}

bool Sender::write_all(const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      if (past_deadline()) return false;
      pollfd pf{fd_, POLLOUT, 0};
      ::poll(&pf, 1, 100);
      continue;
    }
    set_error(cfg_.label + ": send: " + std::strerror(w < 0 ? errno : EPIPE));
    disconnect();
    return false;
  }
  return true;
}

bool Sender::ensure_ready() {
  for (;;) {
    if (fd_ < 0) {
      if (past_deadline()) return false;
      if (!connect_once()) {
        ++stats_.retries;
        backoff();
        continue;
      }
      ++stats_.connects;
      if (ever_connected_) ++stats_.reconnects;
      ever_connected_ = true;
    }
    if (cfg_.stream() && replay_pending_) {
      // The records sent on the failed connection may not have been read: send them again.
      bool ok = true;
      uint64_t count = 0;
      for (auto& chunk : replay_) {
        if (!write_all(chunk.data.data(), chunk.data.size())) {
          ok = false;
          break;
        }
        count += chunk.messages.size();
      }
      if (!ok) {
        if (past_deadline()) return false;
        ++stats_.retries;
        backoff();
        continue;
      }
      stats_.replayed += count;
      replay_pending_ = false;
    }
    return true;
  }
}

bool Sender::send_stream_chunk(Chunk& c) {
  for (;;) {
    if (!ensure_ready()) return false;
    if (connection_dead()) {
      disconnect();
      ++stats_.retries;
      continue;
    }
    if (write_all(c.data.data(), c.data.size())) {
      stats_.sent += c.messages.size();
      stats_.bytes_sent += c.data.size();
      backoff_ms_ = 0;
      return true;
    }
    if (past_deadline()) return false;
    ++stats_.retries;
    backoff();
  }
}

bool Sender::send_datagrams(Chunk& chunk, size_t& next) {
  const std::string& marker = cfg_.truncation_marker;
  while (next < chunk.messages.size()) {
    if (fd_ < 0 && !ensure_ready()) return false;
    const MessageMeta& meta = chunk.messages[next];
    iovec iov[2];
    iov[0] = {chunk.data.data() + meta.off, meta.len};
    int parts = 1;
    bool cut = meta.len > cfg_.datagram_max_bytes;
    if (cut) {
      // Cut on a UTF-8 boundary and end with the marker, within the datagram limit.
      iov[0].iov_len = utf8_prefix(std::string_view(chunk.data.data() + meta.off, meta.len),
                                   cfg_.datagram_max_bytes - marker.size());
      iov[1] = {const_cast<char*>(marker.data()), marker.size()};
      parts = 2;
    }
    msghdr header{};
    header.msg_iov = iov;
    header.msg_iovlen = parts;
    ssize_t sent = ::sendmsg(fd_, &header, MSG_NOSIGNAL);
    if (sent >= 0) {
      ++stats_.sent;
      stats_.bytes_sent += static_cast<uint64_t>(sent);
      if (cut) ++stats_.truncated;
      ++next;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == ENOBUFS) {
      if (past_deadline()) return false;
      pollfd poll_entry{fd_, POLLOUT, 0};
      ::poll(&poll_entry, 1, 100);
      continue;
    }
    set_error(cfg_.label + ": send: " + std::strerror(errno));
    ++stats_.retries;
    disconnect();
    if (past_deadline()) return false;
    backoff();
  }
  backoff_ms_ = 0;
  return true;
}

// At shutdown: half-close and wait for the receiver to close in turn. rsyslog closes a
// session when it reads end-of-file, so its FIN confirms it read every byte we sent.
bool Sender::confirm_close() {
  for (;;) {
    if (fd_ < 0 && !replay_pending_) return true;  // nothing sent is in doubt
    if (!ensure_ready()) return false;
    ::shutdown(fd_, SHUT_WR);
    for (;;) {
      if (past_deadline()) return false;
      pollfd poll_entry{fd_, POLLIN, 0};
      ::poll(&poll_entry, 1, 50);
      char buf[512];
      ssize_t received = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (received > 0 || (received < 0 && (errno == EAGAIN || errno == EINTR))) continue;
      if (received == 0) {
        ::close(fd_);
        fd_ = -1;
        replay_.clear();
        replay_total_ = 0;
        return true;
      }
      set_error(cfg_.label + ": connection failed while closing: " + std::strerror(errno));
      disconnect();
      ++stats_.retries;
      break;
    }
  }
}

void Sender::trim_replay() {
  while (!replay_.empty() && replay_total_ - replay_.front().data.size() >= cfg_.replay_bytes) {
    replay_total_ -= replay_.front().data.size();
    replay_.pop_front();
  }
}

void Sender::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    if (queue_.empty()) {
      if (replay_pending_) {  // resend the window without waiting for new records
        lk.unlock();
        bool ok = ensure_ready();
        lk.lock();
        if (!ok) break;
        continue;
      }
      if (closing_) break;
      if (fd_ >= 0 && cfg_.stream()) {
        // Idle: watch the connection so a receiver restart is noticed (and replayed) early.
        work_cv_.wait_for(lk, std::chrono::milliseconds(200));
        if (queue_.empty() && !closing_) {
          lk.unlock();
          if (connection_dead()) disconnect();
          lk.lock();
        }
      } else {
        work_cv_.wait(lk);
      }
      continue;
    }
    Chunk& chunk = queue_.front();  // deque::push_back keeps references valid
    lk.unlock();
    bool ok = cfg_.stream() ? send_stream_chunk(chunk) : send_datagrams(chunk, front_next_);
    lk.lock();
    if (!ok) break;  // the grace period is over
    queued_bytes_ -= chunk.data.size();
    if (cfg_.stream()) {
      replay_total_ += chunk.data.size();
      replay_.push_back(std::move(chunk));
      trim_replay();
    }
    queue_.pop_front();
    front_next_ = 0;
    space_cv_.notify_all();
  }
  bool drained = queue_.empty();
  lk.unlock();
  if (drained) confirmed_ = cfg_.stream() ? confirm_close() : true;
}

std::string Sender::finish(std::vector<UndeliveredMessage>& out) {
  if (thread_.joinable()) {
    {
      std::lock_guard lk(mu_);
      closing_ = true;
      deadline_ms_ = now_ms() + cfg_.grace_ms;
    }
    work_cv_.notify_all();
    thread_.join();
  }
  auto take = [&](const Chunk& c, size_t from, bool sent) {
    for (size_t i = from; i < c.messages.size(); ++i) {
      const MessageMeta& m = c.messages[i];
      out.push_back({m, std::string(c.data.data() + m.body_off, m.body_len), sent});
    }
  };
  if (cfg_.stream() && !confirmed_)
    for (const Chunk& c : replay_) take(c, 0, true);
  for (size_t i = 0; i < queue_.size(); ++i) take(queue_[i], i == 0 ? front_next_ : 0, false);
  replay_.clear();
  queue_.clear();
  queued_bytes_ = 0;
  std::lock_guard lk(mu_);
  return last_error_;
}

}  // namespace agentlog::plugins::syslog
