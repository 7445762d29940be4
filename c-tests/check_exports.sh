#!/bin/sh
# Usage: check_exports.sh LIB INCLUDE_DIR
# Fails if LIB exports a symbol that no public header declares, if a
# librtpsynth 1.3.2 symbol is missing, or if the SONAME is not librtpsynth.so.1.
lib=$1; inc=$2; rc=0
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "librtpsynth.so.1" ] || { echo "SONAME is '$soname'"; rc=1; }
exports=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDRB]$/ {print $3}' | sort)
for s in $exports; do
  grep -qw "$s" "$inc"/*.h || { echo "exported but not declared: $s"; rc=1; }
done
for s in rsynth_ctor rsynth_next_pkt rsynth_next_pkt_pa rsynth_skip rsynth_pkt_free \
         rsynth_dtor rsynth_set_mbt rsynth_resync rsynth_set_randfunc rtpjbuf_ctor \
         rtpjbuf_dtor rtpjbuf_frame_dtor rtpjbuf_udp_in rtpjbuf_flush \
         rtp_packet_parse_raw rtp_packet_parse_errstr rtp_profiles rtpsynth_strerror; do
  echo "$exports" | grep -qx "$s" || { echo "missing export: $s"; rc=1; }
done
n=$(echo "$exports" | wc -l)
[ $rc = 0 ] && echo "abi_exports: $n symbols, all declared; SONAME $soname"
exit $rc
