// A config-time or runtime error carried as a value: message text is exact and tested.
#pragma once
#include <string>
#include <utility>

namespace agentlog {

class Status {
 public:
  Status() = default;
  static Status error(std::string message) { return Status(std::move(message)); }
  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }
  explicit operator bool() const { return ok(); }

 private:
  explicit Status(std::string m) : failed_(true), message_(std::move(m)) {}
  bool failed_ = false;
  std::string message_;
};

}  // namespace agentlog
