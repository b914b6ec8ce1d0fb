// Whether the client of a request is still connected, so that a generation whose client went
// away stops within one forward pass. cpp-httplib 0.11 (Debian 12's) does not tell a handler
// that its client closed the connection, and its streams report closure only after a write
// fails; so the request's socket is found by its peer address (the kernel's own record, through
// /proc/self/fd and getpeername) and probed with a non-blocking MSG_PEEK, which sees the
// client's FIN at once.
//
//   ClientConnection client(req.remote_addr, req.remote_port);
//   if (client.gone()) ...                          // orderly close or reset by the peer
#pragma once

#include <string>

namespace sculpt::server {

class ClientConnection {
 public:
  // Finds the accepted socket whose peer is addr:port (-1 if none is found: then gone() is
  // always false, and the request relies on its deadline).
  ClientConnection(const std::string& addr, int port);
  // True once the client has closed its side (or reset the connection).
  bool gone() const;
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace sculpt::server
