// The one error type of the HTTP API: what went wrong, in words a client can act on, and the
// HTTP status it is answered with. OpenAI endpoints answer it as
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// and Ollama endpoints as {"error": "..."} (openai_json.h / ollama_json.h format it).
//
//   throw ApiError(400, "messages[1].content[2]: unknown part type \"audio\"", "messages");
//   throw ApiError::too_busy(3);   // 429 with Retry-After: 3
//
// Types follow OpenAI's: "invalid_request_error" (400, 404, 413), "authentication_error" (401),
// "rate_limit_error" (429), "server_error" (500, 503). `param` names the request field at fault
// ("messages[0].content[1].image_url.url"); empty when none.
#pragma once

#include <stdexcept>
#include <string>

namespace framescribe::serve {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message, std::string param = {}, std::string code = {})
      : std::runtime_error(message),
        status_(status),
        param_(std::move(param)),
        code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }
  // OpenAI's error type for the status.
  std::string type() const;
  // Seconds for a Retry-After header (429 and 503); 0: none.
  int retry_after_s() const { return retry_after_s_; }

  static ApiError too_busy(int retry_after_s);          // 429, queue full
  static ApiError unavailable(const std::string& why);  // 503 (model loading, draining)

 private:
  int status_;
  std::string param_, code_;
  int retry_after_s_ = 0;
};

}  // namespace framescribe::serve
