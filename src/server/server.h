// The server part: the runtime that binds the sans-IO NBD codec to sockets (asio) and volumes
// (src/store). The only place where threads, sockets and the codec meet.
#pragma once
