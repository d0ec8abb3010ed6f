#include "framescribe/serve/api_error.h"

namespace framescribe::serve {

std::string ApiError::type() const {
  if (status_ == 401) return "authentication_error";
  if (status_ == 429) return "rate_limit_error";
  if (status_ >= 500) return "server_error";
  return "invalid_request_error";
}

ApiError ApiError::too_busy(int retry_after_s) {
  ApiError e(429, "the server is busy: too many requests are waiting; retry later", {},
             "queue_full");
  e.retry_after_s_ = retry_after_s;
  return e;
}

ApiError ApiError::unavailable(const std::string& why) {
  ApiError e(503, why, {}, "unavailable");
  e.retry_after_s_ = 1;
  return e;
}

}  // namespace framescribe::serve
