/*
 * dtmf_demo: in-band DTMF -> RFC 4733 -> in-band again.
 *
 * 1. A PCM signal (8 kHz) with the digits "159#D0" as Q.23 tones in faint
 *    noise is cut into 20 ms frames.
 * 2. Sender side: each frame goes through the in-band detector; a detected
 *    digit starts an RFC 4733 event on the audio's RTP stream (drop-in
 *    generator), its end finishes it. While an event is on, its packets
 *    replace the audio packets (G.711 u-law otherwise).
 * 3. A lossy "network" drops every 9th packet.
 * 4. Receiver side: every packet is fed to the RFC 4733 receiver (it ignores
 *    the audio); each event it reports is played back as a tone of its
 *    duration, and that PCM is run through the detector again.
 * It prints what each stage saw and exits 0 when all three agree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtpevent.h"
#include "rtpsynth.h"
#include "rtputils.h"

#define RATE   8000
#define PTIME  20
#define FRAME  (RATE * PTIME / 1000)
#define EV_PT  101

static const char *digits = "159#D0";

static unsigned long long rng = 88172645463325252ULL;
static int noise(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (int)(rng % 21) - 10; /* about -60 dBm0 */
}

int main(void) {
    /* 1. the in-band signal: 100 ms tones, 100 ms pauses */
    size_t per = RATE / 10, n = per * (2 * strlen(digits) + 2);
    n -= n % FRAME;
    int16_t *pcm = calloc(n, sizeof(*pcm));
    if (pcm == NULL)
        return 1;
    for (size_t i = 0; i < strlen(digits); i++) {
        struct rtpev_tone *t = rtpev_tone_ctor(rtpev_dtmf_event(digits[i]), RATE, -15, -13, NULL);
        if (t == NULL || rtpev_tone_fill(t, pcm + per * (2 * i + 1), per) != (int)per)
            return 1;
        rtpev_tone_dtor(t);
    }
    for (size_t i = 0; i < n; i++)
        pcm[i] += noise();

    /* 2. + 3. + 4. */
    int err;
    struct rtpev_det *det = rtpev_det_ctor(RATE, &err);
    struct rtpev_tx *tx = rtpev_tx_ctor(RATE, PTIME, &err);
    struct rtpev_rx *rx = rtpev_rx_ctor(EV_PT, 0, &err);
    void *rs = rsynth_ctor_random(RATE, PTIME);
    if (det == NULL || tx == NULL || rx == NULL || rs == NULL) {
        fprintf(stderr, "setup failed: %s\n", rtpsynth_strerror(err));
        return 1;
    }
    char sent[32] = "", received[32] = "";
    struct rtpev_event got[16];
    int ngot = 0, npkts = 0, nev_pkts = 0;
    char pkt[12 + FRAME];
    uint64_t now_ns = 0;
    for (size_t off = 0; off < n; off += FRAME, now_ns += PTIME * 1000000ULL) {
        struct rtpev_det_event de;
        rtpev_det_process(det, pcm + off, FRAME);
        while (rtpev_det_get(det, &de) == 1) {
            if (de.type == RTPEV_DET_START) {
                /* the event starts now, on the audio's clock; open-ended */
                rtpev_tx_start(tx, de.event, rsynth_get_ts(rs), 0);
                strncat(sent, &de.digit, 1);
            } else {
                rtpev_tx_finish(tx);
            }
        }
        int len = rtpev_tx_next_rsynth(tx, rs, EV_PT, pkt, sizeof(pkt));
        if (len > 0) {
            nev_pkts++;
        } else {
            rtpu_linear2ulaw_buf(pcm + off, FRAME, (uint8_t *)pkt);
            len = rsynth_next_pkt_pa(rs, FRAME, 0, pkt, sizeof(pkt), 1);
        }
        if (++npkts % 9 == 0)
            continue; /* lost */
        rtpev_rx_push(rx, (unsigned char *)pkt, (size_t)len, now_ns + 30000000ULL);
        while (ngot < 16 && rtpev_rx_get(rx, &got[ngot]) == 1)
            strncat(received, &got[ngot++].digit, 1);
    }
    rtpev_rx_poll(rx, now_ns + 1000000000ULL);
    while (ngot < 16 && rtpev_rx_get(rx, &got[ngot]) == 1)
        strncat(received, &got[ngot++].digit, 1);

    /* back to in-band: each event as a tone of its duration, 60 ms apart */
    size_t total = 0;
    for (int i = 0; i < ngot; i++)
        total += got[i].duration + RATE * 60 / 1000;
    int16_t *out = calloc(total + FRAME, sizeof(*out));
    size_t at = RATE * 60 / 1000;
    struct rtpev_det *det2 = rtpev_det_ctor(RATE, NULL);
    if (out == NULL || det2 == NULL)
        return 1;
    for (int i = 0; i < ngot; i++) {
        struct rtpev_tone *t = rtpev_tone_ctor(got[i].event, RATE, -10, -8, NULL);
        rtpev_tone_fill(t, out + at, got[i].duration);
        rtpev_tone_dtor(t);
        at += got[i].duration + RATE * 60 / 1000;
        printf("event %c: %llu units (%llu ms), ts %u\n", got[i].digit,
               (unsigned long long)got[i].duration, (unsigned long long)got[i].duration * 1000 / RATE,
               got[i].ts);
    }
    char replayed[32] = "";
    struct rtpev_det_event de;
    rtpev_det_process(det2, out, total);
    rtpev_det_flush(det2);
    while (rtpev_det_get(det2, &de) == 1)
        if (de.type == RTPEV_DET_END)
            strncat(replayed, &de.digit, 1);

    printf("in-band digits:      %s\n", digits);
    printf("detected, sent:      %s (%d of %d packets were events)\n", sent, nev_pkts, npkts);
    printf("RFC 4733 received:   %s\n", received);
    printf("in-band again:       %s\n", replayed);
    int ok = strcmp(sent, digits) == 0 && strcmp(received, digits) == 0 && strcmp(replayed, digits) == 0;
    printf("%s\n", ok ? "all stages agree" : "MISMATCH");

    rtpev_det_dtor(det);
    rtpev_det_dtor(det2);
    rtpev_tx_dtor(tx);
    rtpev_rx_dtor(rx);
    rsynth_dtor(rs);
    free(pcm);
    free(out);
    return ok ? 0 : 1;
}
