// The net part: where FireBreak meets sockets. Parses listen/connect addresses (TCP host:port
// or a unix socket path) and accepts connections with asio, handing each accepted socket to
// the server. Codecs never see a socket; they get bytes from src/server.
#pragma once

#include "net/address.h"
#include "net/listener.h"
