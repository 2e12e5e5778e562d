// The `syslog` output's delivery thread: a bounded buffer of framed messages, sockets (UDP,
// TCP, Unix datagram and stream), reconnects with bounded exponential backoff, a replay
// window for stream transports (at-least-once) and the shutdown grace period.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace agentlog::plugins::syslog {

enum class Transport : uint8_t { Udp, Tcp, UnixDgram, UnixStream };

struct SenderConfig {
  Transport transport = Transport::Udp;
  std::string host = "127.0.0.1";
  int port = 514;
  std::string path;  // Unix socket path
  size_t datagram_max_bytes = 2048;
  std::string truncation_marker;
  size_t buffer_bytes = 8 << 20;
  size_t replay_bytes = 16 << 20;
  int retry_initial_ms = 100;
  int retry_max_ms = 10000;
  int connect_timeout_ms = 5000;
  int grace_ms = 5000;
  std::string label;  // "tcp 127.0.0.1:514", for messages
  bool stream() const { return transport == Transport::Tcp || transport == Transport::UnixStream; }
};

// One message in a chunk: [off, off+len) is the framed message in Chunk::data; the record's
// bytes (for dead letters) are [body_off, body_off+body_len).
struct MessageMeta {
  uint32_t off = 0, len = 0, body_off = 0, body_len = 0;
  uint32_t source = UINT32_MAX;
  uint64_t line = 0;
  bool generated = false;
};

struct Chunk {
  std::string data;
  std::vector<MessageMeta> messages;
};

struct UndeliveredMessage {
  MessageMeta meta;
  std::string raw;
  bool sent = false;  // sent on a stream that failed or was not confirmed before the grace period ended
};

struct SenderStats {
  std::atomic<uint64_t> sent{0}, bytes_sent{0}, truncated{0}, retries{0}, connects{0}, reconnects{0},
      replayed{0}, blocked_ms{0}, buffer_peak_bytes{0};
};

class Sender {
 public:
  explicit Sender(SenderConfig cfg) : cfg_(std::move(cfg)) {}
  ~Sender();
  void start();
  // Hands a chunk to the thread. Blocks while the buffer is full (backpressure); after
  // SIGINT/SIGTERM the chunk is taken anyway, so shutdown can dead-letter it.
  void push(Chunk&& chunk);
  // Delivers what is buffered within the grace period, stops the thread and returns what was
  // not delivered (for stream transports, also what was sent but not confirmed). Returns the
  // last delivery error ("" if none).
  std::string finish(std::vector<UndeliveredMessage>& undelivered);
  // True when everything pushed so far has been written to the socket and no failure left
  // the replay window in doubt: a socket's bytes still reach the receiver if this process is
  // killed, so a checkpoint may move past these records.
  bool drained() const;
  const SenderStats& stats() const { return stats_; }
  std::string last_error() const;

 private:
  void run();
  bool past_deadline() const;
  void pause_ms(int ms);
  void backoff();
  bool ensure_ready();  // connected, and the replay window resent if a failure left it in doubt
  bool connect_once();
  void disconnect();
  bool write_all(const char* p, size_t n);
  bool send_stream_chunk(Chunk& c);
  bool send_datagrams(Chunk& c, size_t& next);
  bool confirm_close();
  bool connection_dead();
  void set_error(std::string msg);
  void trim_replay();

  SenderConfig cfg_;
  SenderStats stats_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_, space_cv_;
  std::deque<Chunk> queue_;  // not yet (fully) sent; front is in progress
  size_t queued_bytes_ = 0;
  bool closing_ = false;
  std::atomic<int64_t> deadline_ms_{INT64_MAX};  // steady clock; set by finish()
  std::string last_error_;

  // Sender thread only (read by finish() after the join).
  int fd_ = -1;
  bool ever_connected_ = false;
  int backoff_ms_ = 0;
  size_t front_next_ = 0;           // datagrams: next message of the front chunk
  std::deque<Chunk> replay_;        // stream: sent chunks kept for resending after a failure
  size_t replay_total_ = 0;
  std::atomic<bool> replay_pending_{false};  // a failure left the replay window in doubt (read by drained())
  bool confirmed_ = false;          // stream: the receiver read everything (shutdown handshake)
};

}  // namespace agentlog::plugins::syslog
