/* Helpers shared by the rtpserver C tests (not a public header). */
#ifndef RTPSYNTH_SERVER_TESTUTIL_H
#define RTPSYNTH_SERVER_TESTUTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>

#include "rtpserver.h"
#include "testutil.h"

/* The port an IPv4 channel is bound to. */
static inline uint16_t tu_port_of(struct rtpsrv_chan *ch) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    CHECK_EQ(rtpsrv_chan_local_addr(ch, &ss, &len), 0);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

#endif
