// A throw-away PostgreSQL 15 server for tests: initdb into a temporary folder, pg_ctl start on a
// free loopback port, stopped (immediate mode) and removed when the object goes away. initdb and
// the server refuse to run as root, so as root they run as the `postgres` user (runuser).
//
//   if (!PostgresServer::binaries_present()) GTEST_SKIP() << PostgresServer::kBinDir << " is missing";
//   PostgresServer server;                       // throws std::runtime_error with the server log
//   params.conninfo = server.conninfo();
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "support/test_util.h"

namespace sculpt::testing {

class PostgresServer {
 public:
  static constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";

  static bool binaries_present() {
    return ::access((std::string(kBinDir) + "/initdb").c_str(), X_OK) == 0 &&
           ::access((std::string(kBinDir) + "/pg_ctl").c_str(), X_OK) == 0;
  }

  // A port nothing listens on right now (bound to 0, read back, closed).
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("cannot find a free port");
    ::close(fd);
    return ntohs(addr.sin_port);
  }

  PostgresServer() : dir_("sculpt_pg"), port_(free_port()) {
    if (::geteuid() == 0) {
      const passwd* pg = ::getpwnam("postgres");
      if (!pg) throw std::runtime_error("running as root, but there is no 'postgres' user to run the server as");
      if (::chown(dir_.path().c_str(), pg->pw_uid, pg->pw_gid) != 0) throw std::runtime_error("chown " + dir_.path());
      // From /, so the server tools never need the (possibly private) working directory.
      as_user_ = "cd / && runuser -u postgres -- ";
    }
    std::string out;
    if (run_command(as_user_ + kBinDir + "/initdb -D " + dir_.file("data") +
                        " -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync",
                    &out) != 0)
      throw std::runtime_error("initdb failed:\n" + out);
    start();
  }

  // Starts the server (again) on the same port; throws with pg_ctl's output and the log.
  void start() {
    if (running_) return;
    std::string out;
    const std::string options = "-p " + std::to_string(port_) + " -c listen_addresses=127.0.0.1 -k " + dir_.path() +
                                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
    if (run_command(as_user_ + kBinDir + "/pg_ctl -D " + dir_.file("data") + " -l " + dir_.file("log") +
                        " -w -t 60 -o '" + options + "' start",
                    &out) != 0) {
      std::string log;
      run_command("cat " + dir_.file("log"), &log);
      throw std::runtime_error("pg_ctl start failed:\n" + out + log);
    }
    running_ = true;
  }

  ~PostgresServer() { stop(); }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // "immediate" (the default, for teardown) skips the shutdown checkpoint; with the test
  // server's synchronous_commit=off recent commits may then be lost, so tests that restart the
  // server stop it in "fast" mode.
  void stop(const std::string& mode = "immediate") {
    if (!running_) return;
    run_command(as_user_ + kBinDir + "/pg_ctl -D " + dir_.file("data") + " -m " + mode + " -w stop");
    running_ = false;
  }

  std::string conninfo() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres user=postgres";
  }
  int port() const { return port_; }

 private:
  TempDir dir_;  // destroyed after stop(): the data folder goes with it
  int port_;
  std::string as_user_;
  bool running_ = false;
};

}  // namespace sculpt::testing
