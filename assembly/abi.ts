// abi.ts — THE contract between the WASM data path and the host.
//
// The host (src/dataplane/memory-map.ts) lays out one WebAssembly.Memory, writes region
// offsets into the header at HEADER_BASE, and fills the tables. The module is stateless code:
// every piece of state it reads or writes lives at an offset it finds in the header, so a new
// instance can take over the same memory between two batches (hot-swap).
//
// src/dataplane/abi.ts and native/abi.h are generated from this file by scripts/gen-abi.mjs: every
// line `@inline export const NAME: u8|u16|u32|i32 = value;` is exported (value: a literal or an
// expression of earlier constants; the generator refuses any other form). DROP_* and TCP_S_* also
// become the host's name tables (metric labels: the lowercase name, or a trailing `// label: x`).
//
// Byte order: addresses, ports and netmasks in every table are stored in WIRE order (exactly the
// bytes found in a packet), so the data path compares and copies them without byte swaps.
// Everything else (weights, counters, timeouts, offsets) is little-endian native.
//
// ╒══════════════════════════ memory map ══════════════════════════╕
// │ 0 .. HEADER_BASE      module static data (host checks staticEnd) │
// │ HEADER_BASE           header (HEADER_SIZE bytes, fields HDR_*)    │
// │ ...                   regions, each REGION_ALIGN-aligned, in any   │
// │                       order the host likes; found via the header   │
// └───────────────────────────────────────────────────────────────────┘

// 10: one event ring for every lane, in lane 0's header (a core of ABI 9 would write lane 1's
// events through a lane header that no longer names a ring)
// 11: the export peekRealServer (pass 2's look-ahead at the schedulers, which tests check
// against pass 3's choices); a core of ABI 10 lacks it
// 12: the scratch grew a field (SCR_HOME, SCR_SIZE 36): a host of ABI 11 lays out 32 bytes a slot
// @ts-ignore: decorator
@inline export const ABI_VERSION: u32 = 12;
// @ts-ignore: decorator
@inline export const MAGIC: u32 = 0x53564c57; // "WLVS" little-endian
// @ts-ignore: decorator
@inline export const HEADER_BASE: u32 = 65536;
// @ts-ignore: decorator
@inline export const HEADER_SIZE: u32 = 1024;
// @ts-ignore: decorator
@inline export const REGION_ALIGN: u32 = 64;

// ── header fields (byte offsets from HEADER_BASE, u32 unless noted) ──────────────────────────
// @ts-ignore: decorator
@inline export const HDR_MAGIC: u32 = 0;
// @ts-ignore: decorator
@inline export const HDR_ABI: u32 = 4;
// per-batch: how the frames of this batch are framed (BATCH_*), written by the host
// @ts-ignore: decorator
@inline export const HDR_BATCH_FLAGS: u32 = 8;
// per-batch: device index the frames came from (all frames of a batch share it)
// @ts-ignore: decorator
@inline export const HDR_BATCH_DEV: u32 = 12;
// global behaviour switches (OPT_*)
// @ts-ignore: decorator
@inline export const HDR_OPTIONS: u32 = 16;
// @ts-ignore: decorator
@inline export const HDR_SLOT_BASE: u32 = 20;
// @ts-ignore: decorator
@inline export const HDR_SLOT_SIZE: u32 = 24;
// @ts-ignore: decorator
@inline export const HDR_SLOT_COUNT: u32 = 28;
// bytes reserved in each slot before the frame: room for a vnet header, an outer IPv4 header
// (TUN mode) and the headers of a generated ICMP error, with no memmove of the payload
// @ts-ignore: decorator
@inline export const HDR_HEADROOM: u32 = 32;
// @ts-ignore: decorator
@inline export const HDR_DESC_BASE: u32 = 36;
// @ts-ignore: decorator
@inline export const HDR_SCRATCH_BASE: u32 = 40;
// @ts-ignore: decorator
@inline export const HDR_DEV_BASE: u32 = 44;
// @ts-ignore: decorator
@inline export const HDR_DEV_COUNT: u32 = 48;
// local addresses (VIPs, DIPs, LIPs): open addressing, LOCAL_SIZE entries, mask = entries - 1
// @ts-ignore: decorator
@inline export const HDR_LOCAL_BASE: u32 = 52;
// @ts-ignore: decorator
@inline export const HDR_LOCAL_MASK: u32 = 56;
// @ts-ignore: decorator
@inline export const HDR_SVC_BASE: u32 = 60;
// @ts-ignore: decorator
@inline export const HDR_SVC_CAP: u32 = 64;
// service index: open addressing on (vip, vport, proto), SVCIDX_SIZE entries, mask = entries - 1
// @ts-ignore: decorator
@inline export const HDR_SVCIDX_BASE: u32 = 68;
// @ts-ignore: decorator
@inline export const HDR_SVCIDX_MASK: u32 = 72;
// @ts-ignore: decorator
@inline export const HDR_RS_BASE: u32 = 76;
// @ts-ignore: decorator
@inline export const HDR_RS_CAP: u32 = 80;
// destination lists: u16 real-server indices; a service owns [SVC_DEST_FIRST, +SVC_DEST_COUNT)
// @ts-ignore: decorator
@inline export const HDR_DEST_BASE: u32 = 84;
// @ts-ignore: decorator
@inline export const HDR_DEST_CAP: u32 = 88;
// scheduler lookup tables (sh, dh, mh): u16 × HDR_SCHED_SIZE per service, service i at
// HDR_SCHED_BASE + i * HDR_SCHED_SIZE * 2. Entries are real-server indices, NO_RS = empty.
// @ts-ignore: decorator
@inline export const HDR_SCHED_BASE: u32 = 92;
// @ts-ignore: decorator
@inline export const HDR_SCHED_SIZE: u32 = 96;
// session records (CONN_SIZE each) and their index (u32 slots, IDX_* encoding)
// @ts-ignore: decorator
@inline export const HDR_CONN_BASE: u32 = 100;
// @ts-ignore: decorator
@inline export const HDR_CONN_CAP: u32 = 104;
// @ts-ignore: decorator
@inline export const HDR_IDX_BASE: u32 = 108;
// @ts-ignore: decorator
@inline export const HDR_IDX_MASK: u32 = 112;
// live records (connections and persistence templates)
// @ts-ignore: decorator
@inline export const HDR_CONN_COUNT: u32 = 116;
// free-list head: record index + 1, 0 = empty (records link through CONN_LINK)
// @ts-ignore: decorator
@inline export const HDR_CONN_FREE: u32 = 120;
// records [0, high) have been handed out at least once; above it memory is untouched
// @ts-ignore: decorator
@inline export const HDR_CONN_HIGH: u32 = 124;
// @ts-ignore: decorator
@inline export const HDR_SWEEP_CURSOR: u32 = 128;
// Full-NAT local addresses (LIP_SIZE each) and the pool lists (u16 LIP indices; a service owns
// [SVC_POOL_FIRST, +SVC_POOL_COUNT))
// @ts-ignore: decorator
@inline export const HDR_LIP_BASE: u32 = 132;
// @ts-ignore: decorator
@inline export const HDR_LIP_CAP: u32 = 136;
// Full-NAT quarantine, ms: a LIP:lport -> RIP:rport tuple is handed to another client only this
// long after its last packet (the real server's TIME_WAIT must be over: Linux 60 s)
// @ts-ignore: decorator
@inline export const HDR_FNAT_QUARANTINE: u32 = 140;
// @ts-ignore: decorator
@inline export const HDR_POOL_BASE: u32 = 144;
// @ts-ignore: decorator
@inline export const HDR_POOL_CAP: u32 = 148;
// global counters: u64 × STAT_COUNT
// @ts-ignore: decorator
@inline export const HDR_STATS_BASE: u32 = 152;
// per-service and per-real-server counters (STATS_SIZE each, index = service / RS index)
// @ts-ignore: decorator
@inline export const HDR_SVC_STATS_BASE: u32 = 156;
// @ts-ignore: decorator
@inline export const HDR_RS_STATS_BASE: u32 = 160;
// event ring: EVT_SIZE records, capacity a power of two; head is written by the core only,
// tail by the host only; a full ring counts STAT_EVENTS_LOST and drops the event
// @ts-ignore: decorator
@inline export const HDR_EVT_BASE: u32 = 164;
// @ts-ignore: decorator
@inline export const HDR_EVT_CAP: u32 = 168;
// @ts-ignore: decorator
@inline export const HDR_EVT_HEAD: u32 = 172;
// @ts-ignore: decorator
@inline export const HDR_EVT_TAIL: u32 = 176;
// end of the last region (the host sizes the memory from it)
// @ts-ignore: decorator
@inline export const HDR_MEM_END: u32 = 180;
// written by pass 2 of every batch so its bucket-touching loads are not optimised away
// @ts-ignore: decorator
@inline export const HDR_SINK: u32 = 184;
// per-session extension records (CONNX_SIZE each, indexed like the session records), or 0 when
// the configuration needs none: sequence/timestamp translation (seqadj.ts) and the state of
// features that rewrite a stream (SYN proxy, PROXY protocol)
// @ts-ignore: decorator
@inline export const HDR_CONNX_BASE: u32 = 188;
// lanes (issue 12): one per data-path worker. Lane 0's lane header IS this header; lane i > 0
// has a header-shaped block (HEADER_SIZE bytes) at HDR_LANE_BASE + (i - 1) * HEADER_SIZE of which
// only the LANE-SCOPED fields (LANE_FIELDS below) are meaningful: every field one batch writes, so
// N workers never share one. workers = 1 therefore lays memory out exactly as before.
// @ts-ignore: decorator
@inline export const HDR_LANE_BASE: u32 = 192;
// @ts-ignore: decorator
@inline export const HDR_LANE_COUNT: u32 = 196;
// the session-table lock, a readers-writer lock (mem.ts: bit 31 a writer holds it, bit 30 one
// waits, the rest count readers): with more than one lane, process() reads under it for the lean
// hits and holds it alone for the rest of a batch, sweep() holds it alone (index.ts); with one
// lane it is never touched
// @ts-ignore: decorator
@inline export const HDR_TABLE_LOCK: u32 = 200;
// @ts-ignore: decorator
@inline export const MAX_LANES: u32 = 16;
// lane-scoped fields (read at the current lane's header): HDR_BATCH_FLAGS, HDR_BATCH_DEV,
// HDR_SLOT_BASE, HDR_DESC_BASE, HDR_SCRATCH_BASE, HDR_STATS_BASE, HDR_SVC_STATS_BASE,
// HDR_RS_STATS_BASE, HDR_SWEEP_CURSOR, HDR_HOLD_BASE, HDR_HOLD_WAITING, HDR_HOLD_READY,
// HDR_EMIT_BASE, HDR_EMIT_COUNT, HDR_SINK. The event ring (HDR_EVT_*) and the eviction hand
// (HDR_EVICT_CURSOR) are the table's, in lane 0's header: events come in the order the table
// changed (events.ts), and embryonic sessions are evicted oldest first (embryonic.ts)
// per-connection counters for connection logs (CONNSTATS_SIZE each, indexed like the session
// records), or 0 when no service logs its connections (connstats.ts)
// @ts-ignore: decorator
@inline export const HDR_CONNSTATS_BASE: u32 = 248;
// PROXY protocol: per session record a u32, the client's ISN + 1 (where the header goes in its
// stream), or 0 when no service sends the PROXY protocol (clientaddr.ts)
// @ts-ignore: decorator
@inline export const HDR_PROXY_BASE: u32 = 252;
// timeouts: u32 milliseconds × TO_COUNT, indexed by TO_* (TCP states by their number)
// @ts-ignore: decorator
@inline export const HDR_TIMEOUTS: u32 = 256;

// ── IPv6 and fragments: header 860..919 (issue 10; the lead's reservation 856..916, below the
// SYN proxy's 920..1023) ─────────────────────────────────────────────────────────────────────
// IPv6 extension regions, each indexed like the table it extends (0 = region absent):
// session records (CONN6_SIZE each, present only when the configuration has IPv6 services),
// services (SVC6_SIZE), real servers (RS6_SIZE), Full-NAT local addresses (LIP6_SIZE)
// @ts-ignore: decorator
@inline export const HDR_CONN6_BASE: u32 = 916;
// @ts-ignore: decorator
@inline export const HDR_SVC6_BASE: u32 = 912;
// @ts-ignore: decorator
@inline export const HDR_RS6_BASE: u32 = 908;
// @ts-ignore: decorator
@inline export const HDR_LIP6_BASE: u32 = 904;
// owned IPv6 addresses: open addressing, LOCAL6_SIZE entries, mask = entries - 1
// @ts-ignore: decorator
@inline export const HDR_LOCAL6_BASE: u32 = 900;
// @ts-ignore: decorator
@inline export const HDR_LOCAL6_MASK: u32 = 896;
// fragment decisions (FRAG_SIZE entries, mask = entries - 1) and how long one is kept (ms)
// @ts-ignore: decorator
@inline export const HDR_FRAG_BASE: u32 = 892;
// @ts-ignore: decorator
@inline export const HDR_FRAG_MASK: u32 = 888;
// @ts-ignore: decorator
@inline export const HDR_FRAG_TIMEOUT: u32 = 884;
// fragments waiting for their first fragment: HDR_HOLD_COUNT entries of HDR_HOLD_SIZE bytes,
// each HOLD_HDR bytes of bookkeeping, then HDR_HEADROOM bytes, then the frame
// @ts-ignore: decorator
@inline export const HDR_HOLD_BASE: u32 = 880;
// @ts-ignore: decorator
@inline export const HDR_HOLD_COUNT: u32 = 876;
// @ts-ignore: decorator
@inline export const HDR_HOLD_SIZE: u32 = 872;
// how long a fragment may wait (ms)
// @ts-ignore: decorator
@inline export const HDR_HOLD_TIMEOUT: u32 = 868;
// entries in state HOLD_WAITING (written by the core only)
// @ts-ignore: decorator
@inline export const HDR_HOLD_WAITING: u32 = 864;
// entries in state HOLD_READY: the host sends them after the batch and frees them
// @ts-ignore: decorator
@inline export const HDR_HOLD_READY: u32 = 860;
// ── SYN-flood defence (assembly/embryonic.ts, assembly/synproxy.ts), the header's last 104 bytes ─
// extra frames the core built in this batch (a SYN proxy's ACK to the real server), in the emit
// region: HDR_EMIT_CAP slots of EMIT_SLOT_SIZE; the core zeroes the count at the start of every
// batch and the host sends slots [0, count) after process() returns
// @ts-ignore: decorator
@inline export const HDR_EMIT_BASE: u32 = 920;
// @ts-ignore: decorator
@inline export const HDR_EMIT_CAP: u32 = 924;
// @ts-ignore: decorator
@inline export const HDR_EMIT_COUNT: u32 = 928;
// our side of a proxied handshake: MSS (bits 0..15) and window scale (bits 16..19) we announce
// @ts-ignore: decorator
@inline export const HDR_SYNPROXY_OPTS: u32 = 932;
// auto-mode services answer SYNs with cookies while the session table holds this many records
// or more (0 = never by fill)
// @ts-ignore: decorator
@inline export const HDR_SYNPROXY_FILL: u32 = 936;
// embryonic sessions (TCP SYN_RECV: the client's SYN seen, its handshake ACK not yet) and their
// budget; at the budget a new one first evicts an old one (clock hand HDR_EVICT_CURSOR)
// @ts-ignore: decorator
@inline export const HDR_EMBRYONIC: u32 = 940;
// @ts-ignore: decorator
@inline export const HDR_EMBRYONIC_MAX: u32 = 944;
// @ts-ignore: decorator
@inline export const HDR_EVICT_CURSOR: u32 = 948;
// SYN_RECV timeout (ms) while embryonic sessions fill half their budget or more (0 = no change),
// as IPVS secure_tcp shortens timeouts under memory pressure
// @ts-ignore: decorator
@inline export const HDR_SYN_RECV_PRESSURE: u32 = 952;
// SYN-cookie period counter, advanced by the host every period as Linux advances its minute
// counter; the top 8 bits of a cookie carry it
// @ts-ignore: decorator
@inline export const HDR_COOKIE_COUNT: u32 = 956;
// SipHash keys: period c uses the 32 bytes at HDR_COOKIE_KEYS + (c & 1) * COOKIE_KEYS_SIZE (the
// first 16 for the hash without the counter, the second for the one with it, as Linux's two
// syncookie secrets), so the previous period's cookies stay valid while the host writes the next
// @ts-ignore: decorator
@inline export const HDR_COOKIE_KEYS: u32 = 960;
// @ts-ignore: decorator
@inline export const COOKIE_KEYS_SIZE: u32 = 32;

// ── per-batch flags (HDR_BATCH_FLAGS) ────────────────────────────────────────────────────────
// frames start with an Ethernet header (TAP); otherwise they are bare IPv4 packets (TUN)
// @ts-ignore: decorator
@inline export const BATCH_L2: u32 = 1;
// each frame is preceded by a VNET_HDR_LEN-byte virtio_net_hdr at off - VNET_HDR_LEN
// @ts-ignore: decorator
@inline export const BATCH_VNET: u32 = 2;

// ── options (HDR_OPTIONS) ────────────────────────────────────────────────────────────────────
// what to do with IPv4 packets that are neither for a VIP nor part of a session:
// default DROP_NOT_OURS; OPT_UNKNOWN_HOST hands them to the host; OPT_UNKNOWN_PASS writes them
// back unchanged to the device they came from (TUN devices: back to the kernel)
// @ts-ignore: decorator
@inline export const OPT_UNKNOWN_HOST: u32 = 1;
// @ts-ignore: decorator
@inline export const OPT_UNKNOWN_PASS: u32 = 2;
// write session created/expired events to the ring
// @ts-ignore: decorator
@inline export const OPT_EVENTS: u32 = 4;
// create TCP sessions on any packet, not only on SYN (IPVS sloppy_tcp): for a backup director
// that takes over connections it has not seen start
// @ts-ignore: decorator
@inline export const OPT_SLOPPY_TCP: u32 = 8;

// ── descriptor, one per slot ─────────────────────────────────────────────────────────────────
// ╒═══════════════ descriptor (DESC_SIZE = 16 B) ═══════════════╕
// │ +0 u32 off     absolute address of the frame; out: of the   │
// │                output frame (may move back into headroom)   │
// │ +4 u32 len     frame length; out: output length             │
// │ +8 u8 verdict  │ +9 u8 reason │ +10 u8 inDev │ +11 u8 outDev │
// │ +12 u32 reserved                                            │
// └─────────────────────────────────────────────────────────────┘
// With BATCH_VNET the virtio_net_hdr sits right before the frame, in and out.
// @ts-ignore: decorator
@inline export const DESC_OFF: u32 = 0;
// @ts-ignore: decorator
@inline export const DESC_LEN: u32 = 4;
// @ts-ignore: decorator
@inline export const DESC_VERDICT: u32 = 8;
// @ts-ignore: decorator
@inline export const DESC_REASON: u32 = 9;
// @ts-ignore: decorator
@inline export const DESC_IN_DEV: u32 = 10;
// @ts-ignore: decorator
@inline export const DESC_OUT_DEV: u32 = 11;
// @ts-ignore: decorator
@inline export const DESC_SIZE: u32 = 16;

// ── emit slots (HDR_EMIT_BASE): frames the core builds beside the batch's own ────────────────
// ╒════════════ emit slot (EMIT_SLOT_SIZE = 192 B) ════════════╕
// │ +0 u16 length │ +2 u8 output device │ +3 u8 0 │ +4 frame │
// └────────────────────────────────────────────────────────────┘
// Frames here carry complete checksums (no virtio header); the host writes them with its own
// send path, so they cost a system call each: only for the rare packets one input frame cannot
// carry (the SYN proxy's ACK to the real server, one per proxied connection). The largest is 130
// bytes for IPv4: Ethernet, IPv4, TCP with timestamps and TOA, and a 56-byte PROXY v1 header; an
// IPv6 one with a PROXY v1 header that would not fit (long addresses: up to 104 bytes) goes
// without it (synproxy.ts serverAnswered: the client's first data carries it).
// @ts-ignore: decorator
@inline export const EMIT_LEN: u32 = 0;
// @ts-ignore: decorator
@inline export const EMIT_DEV: u32 = 2;
// @ts-ignore: decorator
@inline export const EMIT_FRAME: u32 = 4;
// @ts-ignore: decorator
@inline export const EMIT_SLOT_SIZE: u32 = 192;

// ── verdicts ─────────────────────────────────────────────────────────────────────────────────
// @ts-ignore: decorator
@inline export const VERDICT_DROP: u8 = 0;
// @ts-ignore: decorator
@inline export const VERDICT_FORWARD: u8 = 1;
// the host answers it: ARP, ICMP echo to an owned address, anything to a DIP
// @ts-ignore: decorator
@inline export const VERDICT_HOST: u8 = 2;
// the core kept a copy of the frame (a fragment waiting for its first fragment): nothing to
// write now, and not a drop; it leaves later through the hold region or times out (counted)
// @ts-ignore: decorator
@inline export const VERDICT_HELD: u8 = 3;

// process() returns forwarded | host << PROCESS_HOST_SHIFT
// @ts-ignore: decorator
@inline export const PROCESS_HOST_SHIFT: u32 = 16;

// ── drop reasons (counted at STAT_DROP_BASE + reason) ────────────────────────────────────────
// @ts-ignore: decorator
@inline export const DROP_NONE: u8 = 0;
// truncated frame, bad version/IHL/lengths, bad ports area
// @ts-ignore: decorator
@inline export const DROP_MALFORMED: u8 = 1;
// IPv4 header checksum does not verify
// @ts-ignore: decorator
@inline export const DROP_IP_CSUM: u8 = 2; // label: ip_checksum
// a fragment the director cannot carry: a first fragment too short for the ports, a mode that
// cannot rewrite fragments (NAT64), or a fragment of a datagram whose first fragment was dropped
// @ts-ignore: decorator
@inline export const DROP_FRAGMENT: u8 = 3;
// L2 frame for another MAC, or an EtherType the director does not handle (IPv6, ...)
// @ts-ignore: decorator
@inline export const DROP_NOT_MINE: u8 = 4;
// to a VIP, but no service matches the port and protocol
// @ts-ignore: decorator
@inline export const DROP_NO_SERVICE: u8 = 5;
// the scheduler found no available real server (and no sorry server)
// @ts-ignore: decorator
@inline export const DROP_NO_RS: u8 = 6; // label: no_real_server
// session table full: new flows dropped, established ones untouched
// @ts-ignore: decorator
@inline export const DROP_TABLE_FULL: u8 = 7;
// Full-NAT: every LIP:lport of the pool is held toward the chosen real server (by connections or
// in quarantine), or the service has no pool
// @ts-ignore: decorator
@inline export const DROP_POOL_EXHAUSTED: u8 = 8;
// TCP segment without SYN to a VIP and no session (IPVS schedules only on SYN)
// @ts-ignore: decorator
@inline export const DROP_NO_SESSION: u8 = 9;
// neither for a VIP nor part of a session, and the host asked to drop such packets
// @ts-ignore: decorator
@inline export const DROP_NOT_OURS: u8 = 10;
// the session's real server was removed from its service
// @ts-ignore: decorator
@inline export const DROP_RS_GONE: u8 = 11; // label: real_server_gone
// the real server's MAC is not resolved yet (L2 devices)
// @ts-ignore: decorator
@inline export const DROP_NO_NEIGH: u8 = 12; // label: no_neighbour
// too big for the tunnel with DF set: an ICMP frag-needed went back instead (when that reply
// could be built it is the frame's FORWARD verdict and this counter is not touched)
// @ts-ignore: decorator
@inline export const DROP_TOO_BIG: u8 = 13;
// protocol the service cannot carry (ICMP to a VIP other than echo or a related error, ...)
// @ts-ignore: decorator
@inline export const DROP_UNSUPPORTED: u8 = 14;
// a GSO super-packet that a mode cannot carry (IP-in-IP with TSO)
// @ts-ignore: decorator
@inline export const DROP_GSO: u8 = 15;
// an ICMP error that relates to no session
// @ts-ignore: decorator
@inline export const DROP_ICMP_UNRELATED: u8 = 16;
// a 5-tuple that would collide with an existing session's reverse key
// @ts-ignore: decorator
@inline export const DROP_CONFLICT: u8 = 17;
// Full-NAT: the pool has room toward the chosen real server, but FNAT_PROBES tries per LIP met
// only busy or quarantined tuples (DROP_POOL_EXHAUSTED: the server's share is full)
// @ts-ignore: decorator
@inline export const DROP_FNAT_BUSY: u8 = 18; // label: fnat_tuple_busy
// the client segment that must carry the PROXY header would not fit its slot or 64 KiB with it
// (a large GSO super-packet): dropped, the client retransmits one segment
// @ts-ignore: decorator
@inline export const DROP_PROXY_NO_ROOM: u8 = 19;
// a sessionless ACK to a SYN-proxy service whose acknowledgement is not a valid SYN cookie
// @ts-ignore: decorator
@inline export const DROP_BAD_COOKIE: u8 = 20;
// a SYN that would create an embryonic session over the budget, and none could be evicted
// @ts-ignore: decorator
@inline export const DROP_EMBRYONIC_LIMIT: u8 = 21;
// a client segment of a proxied connection before the real server answered its SYN
// @ts-ignore: decorator
@inline export const DROP_SYNPROXY_PENDING: u8 = 22;
// IPv6 and fragments (23..25, after the SYN proxy's): the extension-header chain hides the
// transport header (too long, cut short, ESP, no next header)
// @ts-ignore: decorator
@inline export const DROP_NO_TRANSPORT: u8 = 23; // label: no_transport_header
// a fragment waited for its first fragment longer than the fragment timeout
// @ts-ignore: decorator
@inline export const DROP_FRAG_TIMEOUT: u8 = 24; // label: fragment_timeout
// a fragment came before its first fragment and the hold buffer had no room
// @ts-ignore: decorator
@inline export const DROP_FRAG_OVERFLOW: u8 = 25; // label: fragment_buffer_full
// @ts-ignore: decorator
@inline export const DROP_COUNT: u8 = 26;

// ── global counters (u64 index in the HDR_STATS_BASE array) ──────────────────────────────────
// @ts-ignore: decorator
@inline export const STAT_RX_PACKETS: u32 = 0;
// @ts-ignore: decorator
@inline export const STAT_RX_BYTES: u32 = 1;
// @ts-ignore: decorator
@inline export const STAT_FORWARDED: u32 = 2;
// @ts-ignore: decorator
@inline export const STAT_HOST: u32 = 3;
// @ts-ignore: decorator
@inline export const STAT_DROPPED: u32 = 4;
// @ts-ignore: decorator
@inline export const STAT_CONN_CREATED: u32 = 5;
// @ts-ignore: decorator
@inline export const STAT_CONN_EXPIRED: u32 = 6;
// @ts-ignore: decorator
@inline export const STAT_ICMP_RELAYED: u32 = 7;
// @ts-ignore: decorator
@inline export const STAT_FRAG_NEEDED_SENT: u32 = 8;
// @ts-ignore: decorator
@inline export const STAT_EVENTS_LOST: u32 = 9;
// @ts-ignore: decorator
@inline export const STAT_BATCHES: u32 = 10;
// @ts-ignore: decorator
@inline export const STAT_PASSED: u32 = 11;
// table lock (issue 12): times a worker found the session table's lock taken and waited for it
// (its read lock for the lean hits, or the lock alone), and how often such a wait slept
// (memory.atomic.wait after its spins: the holder was likely preempted)
// @ts-ignore: decorator
@inline export const STAT_LOCK_WAITS: u32 = 12;
// @ts-ignore: decorator
@inline export const STAT_LOCK_SLEEPS: u32 = 13;
// fragments (16..19, the lead's reservation for issue 10): first fragments whose decision was
// remembered, later fragments forwarded by it, fragments held for their first, held ones released
// @ts-ignore: decorator
@inline export const STAT_FRAG_RELEASED: u32 = 16;
// @ts-ignore: decorator
@inline export const STAT_FRAG_HELD: u32 = 17;
// @ts-ignore: decorator
@inline export const STAT_FRAG_HITS: u32 = 18;
// @ts-ignore: decorator
@inline export const STAT_FRAG_FIRST: u32 = 19;
// SYN-flood defence, below the Full-NAT and client-address counters: SYNs that found no session (new
// connection attempts), SYN-ACKs with a cookie sent, handshake ACKs whose cookie verified or did
// not, embryonic sessions evicted, and proxy ACKs to a real server not sent for want of an emit slot
// @ts-ignore: decorator
@inline export const STAT_EMIT_FULL: u32 = 20;
// @ts-ignore: decorator
@inline export const STAT_EMBRYONIC_EVICTED: u32 = 21;
// @ts-ignore: decorator
@inline export const STAT_COOKIES_FAILED: u32 = 22;
// @ts-ignore: decorator
@inline export const STAT_COOKIES_OK: u32 = 23;
// @ts-ignore: decorator
@inline export const STAT_COOKIES_SENT: u32 = 24;
// @ts-ignore: decorator
@inline export const STAT_SYN_RECEIVED: u32 = 25;
// Full-NAT (from the top of the free range down): a client that reused its tuple kept its
// LIP:lport; a tuple stayed held (quarantine) after its connection ended early; a probe for a
// free tuple met one that was busy or quarantined
// @ts-ignore: decorator
@inline export const STAT_FNAT_REUSED: u32 = 31;
// @ts-ignore: decorator
@inline export const STAT_FNAT_QUARANTINED: u32 = 30;
// @ts-ignore: decorator
@inline export const STAT_FNAT_PROBE_BUSY: u32 = 29;
// the client's address toward the server: PROXY headers put into client segments (a resent
// first segment counts again), TOA options added, segments that had no option room for TOA
// @ts-ignore: decorator
@inline export const STAT_PROXY_SENT: u32 = 28;
// @ts-ignore: decorator
@inline export const STAT_TOA_ADDED: u32 = 27;
// @ts-ignore: decorator
@inline export const STAT_TOA_NO_ROOM: u32 = 26;
// @ts-ignore: decorator
@inline export const STAT_DROP_BASE: u32 = 32;
// @ts-ignore: decorator
@inline export const STAT_COUNT: u32 = 64;

// ── per-service / per-real-server counters (u64 each) ────────────────────────────────────────
// @ts-ignore: decorator
@inline export const ST_CONNS: u32 = 0;
// @ts-ignore: decorator
@inline export const ST_INPKTS: u32 = 8;
// @ts-ignore: decorator
@inline export const ST_OUTPKTS: u32 = 16;
// @ts-ignore: decorator
@inline export const ST_INBYTES: u32 = 24;
// @ts-ignore: decorator
@inline export const ST_OUTBYTES: u32 = 32;
// SYNs to the service that found no session: the rate the SYN-proxy auto mode watches
// @ts-ignore: decorator
@inline export const ST_SYNS: u32 = 56;
// @ts-ignore: decorator
@inline export const STATS_SIZE: u32 = 64;

// ── devices ──────────────────────────────────────────────────────────────────────────────────
// ╒════════ device (DEV_SIZE = 48 B) ═════════╕
// │ +0 mac[6] │ +6 u16 mtu │ +8 u32 flags    │
// │ +12 u32 addr (wire order): source of      │
// │     generated ICMP and default TUN outer  │
// │ +16 vmac[6]: a second MAC the device      │
// │     accepts frames for (VRRP virtual MAC  │
// │     00:00:5e:00:01:VRID while master);    │
// │     all zero = none                       │
// │ +32 addr6[16]: source of generated ICMPv6 │
// │     and default IPv6 TUN outer            │
// └────────────────────────────────────────────┘
// @ts-ignore: decorator
@inline export const DEV_MAC: u32 = 0;
// @ts-ignore: decorator
@inline export const DEV_MTU: u32 = 6;
// @ts-ignore: decorator
@inline export const DEV_FLAGS: u32 = 8;
// @ts-ignore: decorator
@inline export const DEV_ADDR: u32 = 12;
// @ts-ignore: decorator
@inline export const DEV_VMAC: u32 = 16;
// @ts-ignore: decorator
@inline export const DEV_ADDR6: u32 = 32;
// @ts-ignore: decorator
@inline export const DEV_SIZE: u32 = 48;
// @ts-ignore: decorator
@inline export const DEVF_L2: u32 = 1;
// @ts-ignore: decorator
@inline export const DEVF_VNET: u32 = 2;
// @ts-ignore: decorator
@inline export const MAX_DEVICES: u32 = 16;

// ── local addresses ──────────────────────────────────────────────────────────────────────────
// +0 u32 addr (wire order, 0 = empty slot), +4 u32 LOCAL_* bits
// @ts-ignore: decorator
@inline export const LOCAL_ADDR: u32 = 0;
// @ts-ignore: decorator
@inline export const LOCAL_KIND: u32 = 4;
// @ts-ignore: decorator
@inline export const LOCAL_SIZE: u32 = 8;
// @ts-ignore: decorator
@inline export const LOCAL_VIP: u32 = 1;
// @ts-ignore: decorator
@inline export const LOCAL_DIP: u32 = 2;
// @ts-ignore: decorator
@inline export const LOCAL_LIP: u32 = 4;

// ── owned IPv6 addresses ─────────────────────────────────────────────────────────────────────
// +0 addr[16] (:: = empty slot), +16 u32 LOCAL_* bits
// @ts-ignore: decorator
@inline export const LOCAL6_ADDR: u32 = 0;
// @ts-ignore: decorator
@inline export const LOCAL6_KIND: u32 = 16;
// @ts-ignore: decorator
@inline export const LOCAL6_SIZE: u32 = 32;

// ── service index entry ──────────────────────────────────────────────────────────────────────
// +0 u32 vip (0 = empty), +4 u16 vport, +6 u8 proto, +7 u8 pad, +8 u32 service index
// port-0 ("all ports") services are found with vport 0 after a miss on the real port.
// An IPv6 service is indexed under the fold of its VIP (FOLD6) and proto | PROTO_V6, and its
// full VIP is compared in its SVC6 record.
// @ts-ignore: decorator
@inline export const SVCIDX_VIP: u32 = 0;
// @ts-ignore: decorator
@inline export const SVCIDX_VPORT: u32 = 4;
// @ts-ignore: decorator
@inline export const SVCIDX_PROTO: u32 = 6;
// @ts-ignore: decorator
@inline export const SVCIDX_SVC: u32 = 8;
// @ts-ignore: decorator
@inline export const SVCIDX_SIZE: u32 = 16;

// ── services ─────────────────────────────────────────────────────────────────────────────────
// ╒══════════════════════ service (SVC_SIZE = 64 B) ═══════════════════════╕
// │ +0 vip │ +4 u16 vport │ +6 u8 proto │ +7 u8 flags                       │
// │ +8 u8 sched │ +9 u8 fwd │ +10 u16 destCount │ +12 u32 destFirst         │
// │ +16 u32 rr cursor │ +20 i32 wrr cw │ +24 u32 wrr max │ +28 u32 wrr gcd   │
// │ +32 u32 persistence timeout ms │ +36 u32 persistence netmask (wire)     │
// │ +40 u32 poolFirst │ +44 u16 poolCount │ +46 u16 pool cursor             │
// │ +48 u16 sorry RS + 1 (0 none) │ +50 u8 flags2 │ +51 pad │ +52 u32 tun src │
// └──────────────────────────────────────────────────────────────────────────┘
// @ts-ignore: decorator
@inline export const SVC_VIP: u32 = 0;
// @ts-ignore: decorator
@inline export const SVC_VPORT: u32 = 4;
// @ts-ignore: decorator
@inline export const SVC_PROTO: u32 = 6;
// @ts-ignore: decorator
@inline export const SVC_FLAGS: u32 = 7;
// @ts-ignore: decorator
@inline export const SVC_SCHED: u32 = 8;
// @ts-ignore: decorator
@inline export const SVC_FWD: u32 = 9;
// @ts-ignore: decorator
@inline export const SVC_DEST_COUNT: u32 = 10;
// @ts-ignore: decorator
@inline export const SVC_DEST_FIRST: u32 = 12;
// @ts-ignore: decorator
@inline export const SVC_RR_CURSOR: u32 = 16;
// @ts-ignore: decorator
@inline export const SVC_WRR_CW: u32 = 20;
// @ts-ignore: decorator
@inline export const SVC_WRR_MAX: u32 = 24;
// @ts-ignore: decorator
@inline export const SVC_WRR_GCD: u32 = 28;
// @ts-ignore: decorator
@inline export const SVC_PERSIST_TIMEOUT: u32 = 32;
// @ts-ignore: decorator
@inline export const SVC_PERSIST_MASK: u32 = 36;
// @ts-ignore: decorator
@inline export const SVC_POOL_FIRST: u32 = 40;
// @ts-ignore: decorator
@inline export const SVC_POOL_COUNT: u32 = 44;
// @ts-ignore: decorator
@inline export const SVC_POOL_CURSOR: u32 = 46;
// @ts-ignore: decorator
@inline export const SVC_SORRY: u32 = 48;
// a second flag byte (SVCF2_*): SVC_FLAGS has no free bit left
// @ts-ignore: decorator
@inline export const SVC_FLAGS2: u32 = 50;
// @ts-ignore: decorator
@inline export const SVC_TUN_SRC: u32 = 52;
// @ts-ignore: decorator
@inline export const SVC_SIZE: u32 = 64;
// @ts-ignore: decorator
@inline export const SVCF_USED: u8 = 1;
// client affinity: SVC_PERSIST_TIMEOUT / SVC_PERSIST_MASK apply (ipvsadm -p -M)
// @ts-ignore: decorator
@inline export const SVCF_PERSIST: u8 = 2;
// sh / mh hash the source port too (ipvsadm --sched-flags sh-port / mh-port)
// @ts-ignore: decorator
@inline export const SVCF_HASH_PORT: u8 = 4;
// sh / mh: when the hashed server is unavailable, try the next one (sh-fallback / mh-fallback)
// @ts-ignore: decorator
@inline export const SVCF_FALLBACK: u8 = 8;

// ── IPv6 extension of a service (SVC6_SIZE = 48 B, index = service index) ────────────────────
// +0 vip6[16] │ +16 tunnel src6[16] (:: = the device's) │ +32 persistence mask6[16]
// @ts-ignore: decorator
@inline export const SVC6_VIP: u32 = 0;
// @ts-ignore: decorator
@inline export const SVC6_TUN_SRC: u32 = 16;
// @ts-ignore: decorator
@inline export const SVC6_PERSIST_MASK: u32 = 32;
// @ts-ignore: decorator
@inline export const SVC6_SIZE: u32 = 48;
// TCP: the client's address as TCP option 254 (TOA, as Alibaba LVS and DPVS) in the client's
// segments until the server answers (Full-NAT: the server sees a LIP otherwise)
// @ts-ignore: decorator
@inline export const SVCF_TOA: u8 = 16;
// TCP: a PROXY protocol header (v1 text or v2 binary) ahead of the client's stream
// @ts-ignore: decorator
@inline export const SVCF_PROXY_V1: u8 = 32;
// @ts-ignore: decorator
@inline export const SVCF_PROXY_V2: u8 = 64;
// TCP segments other than SYN may create a session when the scheduler (mh) sends every
// director of a cluster to the same server and the mode (dr, tun) needs no state the server
// shares with one director: a flow ECMP moved from another director continues (as Katran does)
// @ts-ignore: decorator
@inline export const SVCF_MIDFLOW: u8 = 128;
// SVC_FLAGS2 (values 1 and 2 are the SYN proxy's, issue 9; 8 is connection logging's, issue 14):
// the VIP is IPv6: SVC_VIP holds its fold (FOLD6), the SVC6 record the address itself
// @ts-ignore: decorator
@inline export const SVCF2_V6: u8 = 4;
// SVC_FLAGS2: SYN proxy configured (auto or on): sessionless ACKs are checked as SYN cookies (a
// cookie sent before protection switched off stays valid), and SYNs get cookies while the core
// sees pressure (embryonic budget reached, table fill at HDR_SYNPROXY_FILL)
// @ts-ignore: decorator
@inline export const SVCF2_SYNPROXY: u8 = 1;
// the host switched the SYN proxy on (forced, or auto above the configured SYN rate)
// @ts-ignore: decorator
@inline export const SVCF2_SYNPROXY_ON: u8 = 2;
// SVC_FLAGS2: one EVT_CONN_END + EVT_CONN_STATS pair per connection when it ends (needs
// HDR_CONNSTATS_BASE; connstats.ts)
// @ts-ignore: decorator
@inline export const SVCF2_CONNLOG: u8 = 8;

// ── schedulers (ipvsadm names) ───────────────────────────────────────────────────────────────
// @ts-ignore: decorator
@inline export const SCHED_RR: u8 = 0;
// @ts-ignore: decorator
@inline export const SCHED_WRR: u8 = 1;
// @ts-ignore: decorator
@inline export const SCHED_LC: u8 = 2;
// @ts-ignore: decorator
@inline export const SCHED_WLC: u8 = 3;
// @ts-ignore: decorator
@inline export const SCHED_SED: u8 = 4;
// @ts-ignore: decorator
@inline export const SCHED_NQ: u8 = 5;
// @ts-ignore: decorator
@inline export const SCHED_SH: u8 = 6;
// @ts-ignore: decorator
@inline export const SCHED_DH: u8 = 7;
// @ts-ignore: decorator
@inline export const SCHED_MH: u8 = 8;
// @ts-ignore: decorator
@inline export const SCHED_COUNT: u8 = 9;
// sh and dh use the first SH_TABLE_SIZE entries of the service's scheduler table (IPVS: 256)
// @ts-ignore: decorator
@inline export const SH_TABLE_SIZE: u32 = 256;
// value of an empty scheduler-table entry / "no real server"
// @ts-ignore: decorator
@inline export const NO_RS: u32 = 0xffff;

// ── forwarding modes ─────────────────────────────────────────────────────────────────────────
// @ts-ignore: decorator
@inline export const FWD_NAT: u8 = 0;
// @ts-ignore: decorator
@inline export const FWD_DR: u8 = 1;
// @ts-ignore: decorator
@inline export const FWD_TUN: u8 = 2;
// @ts-ignore: decorator
@inline export const FWD_FNAT: u8 = 3;
// RS_FWD value meaning "the service's mode"
// @ts-ignore: decorator
@inline export const FWD_INHERIT: u8 = 0xff;

// ── real servers ─────────────────────────────────────────────────────────────────────────────
// ╒══════════════════════ real server (RS_SIZE = 64 B) ════════════════════╕
// │ +0 rip │ +4 u16 rport (0 = vport) │ +6 u8 fwd │ +7 u8 flags            │
// │ +8 u32 weight │ +12 u32 active │ +16 u32 inactive │ +20 u32 persist    │
// │ +24 mac[6] │ +30 u8 out device │ +31 pad │ +32 u32 service index      │
// │ +36 u32 upper threshold (0 = none) │ +40 u32 tunnel src (wire, 0 = svc)│
// │ +44 u32 Full-NAT tuples held toward it │ +48 12 B scheduler scratch     │
// └────────────────────────────────────────────────────────────────────────┘
// active/inactive/persist/fnat held are written by the core only; everything else by the host.
// @ts-ignore: decorator
@inline export const RS_RIP: u32 = 0;
// @ts-ignore: decorator
@inline export const RS_RPORT: u32 = 4;
// @ts-ignore: decorator
@inline export const RS_FWD: u32 = 6;
// @ts-ignore: decorator
@inline export const RS_FLAGS: u32 = 7;
// @ts-ignore: decorator
@inline export const RS_WEIGHT: u32 = 8;
// @ts-ignore: decorator
@inline export const RS_ACTIVE: u32 = 12;
// @ts-ignore: decorator
@inline export const RS_INACTIVE: u32 = 16;
// @ts-ignore: decorator
@inline export const RS_PERSIST: u32 = 20;
// @ts-ignore: decorator
@inline export const RS_MAC: u32 = 24;
// @ts-ignore: decorator
@inline export const RS_DEV: u32 = 30;
// @ts-ignore: decorator
@inline export const RS_SVC: u32 = 32;
// @ts-ignore: decorator
@inline export const RS_UPPER: u32 = 36;
// @ts-ignore: decorator
@inline export const RS_TUN_SRC: u32 = 40;
// LIP:lport tuples toward this server held by its Full-NAT sessions and their quarantine: the
// host frees the slot only when this is 0 too (a held tuple names the server by index)
// @ts-ignore: decorator
@inline export const RS_FNAT_HELD: u32 = 44;
// 12 bytes the scheduler may use while rebuilding its service (Maglev offset, skip, next);
// a real server belongs to one service, so no two rebuilds share them
// @ts-ignore: decorator
@inline export const RS_SCHED_SCRATCH: u32 = 48;
// @ts-ignore: decorator
@inline export const RS_SIZE: u32 = 64;
// @ts-ignore: decorator
@inline export const RSF_USED: u8 = 1;
// removed from its service: its sessions are expired at their next packet and by the sweep;
// the host frees the slot once active + inactive + persist reach 0
// @ts-ignore: decorator
@inline export const RSF_REMOVED: u8 = 2;
// next-hop MAC known (always set on L3 devices)
// @ts-ignore: decorator
@inline export const RSF_READY: u8 = 4;
// the real server is IPv6: RS_RIP holds its fold (FOLD6), the RS6 record the address itself
// @ts-ignore: decorator
@inline export const RSF_V6: u8 = 8;

// ── IPv6 extension of a real server (RS6_SIZE = 32 B, index = real-server index) ─────────────
// +0 rip6[16] │ +16 tunnel src6[16] (:: = the service's)
// @ts-ignore: decorator
@inline export const RS6_RIP: u32 = 0;
// @ts-ignore: decorator
@inline export const RS6_TUN_SRC: u32 = 16;
// @ts-ignore: decorator
@inline export const RS6_SIZE: u32 = 32;

// ── sessions ─────────────────────────────────────────────────────────────────────────────────
// ╒═════════════════════ session record (CONN_SIZE = 48 B) ══════════════════════╕
// │ +0 cip │ +4 vip │ +8 u16 cport │ +10 u16 vport │ +12 rip                      │
// │ +16 u16 rport │ +18 u16 lport │ +20 lip │ +24 u32 expires (ms, wrap-safe)    │
// │ +28 u16 rs │ +30 u8 proto │ +31 u8 state │ +32 u8 flags │ +33 u8 client dev  │
// │ +34 client-side MAC[6] (next hop back to the client, learnt from the frame)   │
// │ +40 u32 link: free-list next (free) / template record + 1 (connection)        │
// │ +44 u16 service │ +46 u16 LIP index (Full-NAT)                               │
// └───────────────────────────────────────────────────────────────────────────────┘
// A persistence template is a record with CONNF_TEMPLATE: proto = its service's protocol,
// cip = client address & netmask, cport = 0, vip/vport = the service's; it pins rs. It has no
// LIP, so its +20 word (CONN_TMPL_CONTROLS) counts the connections it controls (IPVS n_control):
// it lives at least as long as they do.
// The index holds 4 u32 slots per record (load ≤ 0.5 with both directions): 48 + 16 = 64 B
// per connection.
// @ts-ignore: decorator
@inline export const CONN_CIP: u32 = 0;
// @ts-ignore: decorator
@inline export const CONN_VIP: u32 = 4;
// @ts-ignore: decorator
@inline export const CONN_CPORT: u32 = 8;
// @ts-ignore: decorator
@inline export const CONN_VPORT: u32 = 10;
// @ts-ignore: decorator
@inline export const CONN_RIP: u32 = 12;
// @ts-ignore: decorator
@inline export const CONN_RPORT: u32 = 16;
// @ts-ignore: decorator
@inline export const CONN_LPORT: u32 = 18;
// @ts-ignore: decorator
@inline export const CONN_LIP: u32 = 20;
/** templates only: the connections linked to this template (the same word as CONN_LIP) */
// @ts-ignore: decorator
@inline export const CONN_TMPL_CONTROLS: u32 = CONN_LIP;
// @ts-ignore: decorator
@inline export const CONN_EXPIRES: u32 = 24;
// @ts-ignore: decorator
@inline export const CONN_RS: u32 = 28;
// @ts-ignore: decorator
@inline export const CONN_PROTO: u32 = 30;
// @ts-ignore: decorator
@inline export const CONN_STATE: u32 = 31;
// @ts-ignore: decorator
@inline export const CONN_FLAGS: u32 = 32;
// @ts-ignore: decorator
@inline export const CONN_CDEV: u32 = 33;
// @ts-ignore: decorator
@inline export const CONN_CMAC: u32 = 34;
// @ts-ignore: decorator
@inline export const CONN_LINK: u32 = 40;
// @ts-ignore: decorator
@inline export const CONN_SVC: u32 = 44;
// @ts-ignore: decorator
@inline export const CONN_LIPIDX: u32 = 46;
// @ts-ignore: decorator
@inline export const CONN_SIZE: u32 = 48;
// @ts-ignore: decorator
@inline export const CONNF_USED: u8 = 1;
// @ts-ignore: decorator
@inline export const CONNF_TEMPLATE: u8 = 2;
// also indexed in the out direction (NAT, Full-NAT)
// @ts-ignore: decorator
@inline export const CONNF_OUT: u8 = 4;
// counted in RS_ACTIVE (else in RS_INACTIVE, or RS_PERSIST for templates)
// @ts-ignore: decorator
@inline export const CONNF_ACTIVE: u8 = 8;
// holds a LIP:lport of its service's pool
// @ts-ignore: decorator
@inline export const CONNF_POOL: u8 = 16;
// the record's in key is out of the index but the record lives on: a template whose server went
// away that still controls connections, or a Full-NAT connection that has ended but whose
// LIP:lport -> RIP:rport tuple is held in quarantine (only its out key is indexed; it carries no
// traffic and counts in no connection counter)
// @ts-ignore: decorator
@inline export const CONNF_DETACHED: u8 = 0x80;
// forwarding mode in bits 5..6
// @ts-ignore: decorator
@inline export const CONNF_FWD_SHIFT: u8 = 5;
// @ts-ignore: decorator
@inline export const CONNF_FWD_MASK: u8 = 0x60;
// CONN_PROTO carries this bit when the client side of the session is IPv6 (the CONN6 record
// holds its addresses): IPv4 lookups compare the whole byte, so they never match such a record
// @ts-ignore: decorator
@inline export const PROTO_V6: u8 = 0x80;
// ╒══════════════ session extension (CONNX_SIZE = 16 B, record i at HDR_CONNX_BASE + 16 i) ══════════════╕
// │ +0 u32 seq delta in: added to the seq of client -> RS segments, taken from the ack (and SACK  │
// │        edges) of RS -> client ones (bytes the director inserted into the client's stream)     │
// │ +4 u32 seq delta out: added to the seq of RS -> client segments, taken from the ack/SACK of  │
// │        client -> RS ones (the client saw another ISN than the server's: SYN proxy)           │
// │ +8 u32 timestamp delta: added to TSval of RS -> client, taken from TSecr of client -> RS     │
// │ +12 u16 flags (CONNXF_*) │ +14 u16 owned by the feature that set the flags                    │
// └───────────────────────────────────────────────────────────────────────────────────────────────┘
// Deltas are modulo 2^32, little-endian native values (not wire order). Zeroed with the record.
// One session may carry both stream editors: the SYN proxy owns SEQ_OUT, TS and AUX, the PROXY
// protocol owns SEQ_IN (the header's length), and each keeps the other's flags when it writes.
// @ts-ignore: decorator
@inline export const CONNX_SEQ_IN: u32 = 0;
// @ts-ignore: decorator
@inline export const CONNX_SEQ_OUT: u32 = 4;
// @ts-ignore: decorator
@inline export const CONNX_TS: u32 = 8;
// @ts-ignore: decorator
@inline export const CONNX_FLAGS: u32 = 12;
// @ts-ignore: decorator
@inline export const CONNX_AUX: u32 = 14;
// @ts-ignore: decorator
@inline export const CONNX_SIZE: u32 = 16;
/** the sequence deltas apply to every segment of the session */
// @ts-ignore: decorator
@inline export const CONNXF_SEQ: u16 = 1;
/** the timestamp delta applies (TSval out, TSecr in) */
// @ts-ignore: decorator
@inline export const CONNXF_TS: u16 = 2;
/** PROXY protocol: the header went (or goes) ahead of the client's first byte and the server
 * has not acknowledged it yet; a client segment starting there carries it again (clientaddr.ts) */
// @ts-ignore: decorator
@inline export const CONNXF_PROXY: u16 = 4;
/** TOA: the client's segments carry option 254 until the server's first segment after its SYN-ACK */
// @ts-ignore: decorator
@inline export const CONNXF_TOA: u16 = 8;
// SYN proxy (synproxy.ts), flags from the top: the session was opened by the SYN proxy; its real
// server has not answered the SYN yet (SEQ_OUT then holds our cookie ISN, TS our timestamp value,
// AUX the client's window scale bits 0..3, ours 4..7 and its window, coded, 8..15); the client
// negotiated window scaling / timestamps with us; windows are rescaled per segment (AUX then
// holds the shift the server did not agree to 0..3, ours 4..7, the server's 8..11)
// @ts-ignore: decorator
@inline export const CONNXF_SYNPROXY: u16 = 0x8000;
// @ts-ignore: decorator
@inline export const CONNXF_SYNPROXY_PENDING: u16 = 0x4000;
// @ts-ignore: decorator
@inline export const CONNXF_SYNPROXY_WSCALE: u16 = 0x2000;
// @ts-ignore: decorator
@inline export const CONNXF_SYNPROXY_TS: u16 = 0x1000;
// @ts-ignore: decorator
@inline export const CONNXF_SYNPROXY_WINDOW: u16 = 0x0800;
/**
 * set on a closing session when the SYN proxy answered a SYN that reuses its client's tuple: only
 * then is a pure ACK with a valid cookie on that tuple the new handshake's third segment. The old
 * connection's own last ACK can carry a valid cookie too (after FINs both ways and no data its seq
 * and ack are both one past the handshake's, and the cookie is additive in the two), and taken for
 * a handshake it turned into a SYN toward a server still in LAST_ACK on that tuple: the server
 * answered with a challenge ACK, which the pending session dropped, and the port stalled
 */
// @ts-ignore: decorator
@inline export const CONNXF_REUSE_ANSWERED: u16 = 0x0400;
// records per index slot group: the index has IDX_PER_CONN slots per record
// @ts-ignore: decorator
@inline export const IDX_PER_CONN: u32 = 4;
// ╒════════ index slot (u32) ════════╕
// │ 31..25 tag │ 24 dir │ 23..0 rec+1 │   0 = empty
// └──────────────────────────────────┘
// @ts-ignore: decorator
@inline export const IDX_TAG_SHIFT: u32 = 25;
// @ts-ignore: decorator
@inline export const IDX_DIR_OUT: u32 = 0x1000000;
// @ts-ignore: decorator
@inline export const IDX_REC_MASK: u32 = 0xffffff;
// record indices fit in 24 bits: capacity ≤ 2^23 sessions
// @ts-ignore: decorator
@inline export const MAX_CONN_CAP: u32 = 8388608;

// ── IPv6 extension of a session record (CONN6_SIZE = 64 B, index = record index) ─────────────
// +0 cip6[16] │ +16 vip6[16] │ +32 rip6[16] │ +48 lip6[16]
// Used by records with PROTO_V6. NAT64 (an IPv6 VIP in front of IPv4 servers, Full-NAT 6->4)
// keeps its IPv4 server and LIP in CONN_RIP / CONN_LIP of the record and only cip6/vip6 here.
// With IPv6 configured every record has one: 48 + 64 + 16 = 128 B per connection of either
// family; without, the region is absent (HDR_CONN6_BASE = 0) and IPv4 stays at 64 B.
// @ts-ignore: decorator
@inline export const CONN6_CIP: u32 = 0;
// @ts-ignore: decorator
@inline export const CONN6_VIP: u32 = 16;
// @ts-ignore: decorator
@inline export const CONN6_RIP: u32 = 32;
// @ts-ignore: decorator
@inline export const CONN6_LIP: u32 = 48;
// @ts-ignore: decorator
@inline export const CONN6_SIZE: u32 = 64;

// ── TCP states (IPVS numbering) and timeout slots ────────────────────────────────────────────
// @ts-ignore: decorator
@inline export const TCP_S_NONE: u8 = 0;
// @ts-ignore: decorator
@inline export const TCP_S_ESTABLISHED: u8 = 1;
// @ts-ignore: decorator
@inline export const TCP_S_SYN_SENT: u8 = 2;
// @ts-ignore: decorator
@inline export const TCP_S_SYN_RECV: u8 = 3;
// @ts-ignore: decorator
@inline export const TCP_S_FIN_WAIT: u8 = 4;
// @ts-ignore: decorator
@inline export const TCP_S_TIME_WAIT: u8 = 5;
// @ts-ignore: decorator
@inline export const TCP_S_CLOSE: u8 = 6;
// @ts-ignore: decorator
@inline export const TCP_S_CLOSE_WAIT: u8 = 7;
// @ts-ignore: decorator
@inline export const TCP_S_LAST_ACK: u8 = 8;
// @ts-ignore: decorator
@inline export const TCP_S_LISTEN: u8 = 9;
// @ts-ignore: decorator
@inline export const TCP_S_SYNACK: u8 = 10;
// @ts-ignore: decorator
@inline export const TCP_S_COUNT: u8 = 11;
// state value of UDP and ICMP sessions
// @ts-ignore: decorator
@inline export const UDP_S_NORMAL: u8 = 0;
// timeouts (index into HDR_TIMEOUTS): TCP states use their state number
// @ts-ignore: decorator
@inline export const TO_UDP: u32 = 11;
// @ts-ignore: decorator
@inline export const TO_ICMP: u32 = 12;
// @ts-ignore: decorator
@inline export const TO_COUNT: u32 = 16;

// ── events ───────────────────────────────────────────────────────────────────────────────────
// ╒═════════════════════ event (EVT_SIZE = 128 B) ════════════════════╕
// │ +0 u8 type │ +1 u8 proto │ +2 u8 state │ +3 u8 fwd │ +4 cip │ +8 vip │
// │ +12 u16 cport │ +14 u16 vport │ +16 rip │ +20 u16 rport │ +22 lport │
// │ +24 lip │ +28 u16 service │ +30 u16 rs │ +32 client MAC[6] │ +38 u8 client device │
// │ +39 u8 owner │ +40 u16 LIP index │ +42 u8 CEND_* (EVT_CONN_END) │ 0 │
// │ +44 u32 PROXY mark (the client's ISN + 1 while CONNXF_PROXY, else 0) │
// │ +48 cip6[16] │ +64 vip6[16] │ +80 rip6[16] │ +96 lip6[16] (PROTO_V6)  │
// │ +112 the session extension record (CONNX_SIZE bytes, as in memory):  │
// │      +112 seq delta in │ +116 seq delta out │ +120 timestamp delta   │
// │      +124 u16 CONNXF_* flags │ +126 u16 aux; all 0 without one       │
// └──────────────────────────────────────────────────────────────────────┘
// proto carries PROTO_V6 for a session whose client side is IPv6; the IPv6 part is 0 otherwise.
// The same record is the session-sync unit: importConn() reads one from memory the host wrote.
// The extension record and the PROXY mark travel so that a backup translates a SYN-proxied or
// PROXY-protocol connection exactly as its master did (sync protocol v4); the core publishes a
// proxied session again (EVT_STATE_CHANGED) once its real server's SYN-ACK set the deltas.
// @ts-ignore: decorator
@inline export const EVT_TYPE: u32 = 0;
// @ts-ignore: decorator
@inline export const EVT_PROTO: u32 = 1;
// @ts-ignore: decorator
@inline export const EVT_STATE: u32 = 2;
// @ts-ignore: decorator
@inline export const EVT_FWD: u32 = 3;
// @ts-ignore: decorator
@inline export const EVT_CIP: u32 = 4;
// @ts-ignore: decorator
@inline export const EVT_VIP: u32 = 8;
// @ts-ignore: decorator
@inline export const EVT_CPORT: u32 = 12;
// @ts-ignore: decorator
@inline export const EVT_VPORT: u32 = 14;
// @ts-ignore: decorator
@inline export const EVT_RIP: u32 = 16;
// @ts-ignore: decorator
@inline export const EVT_RPORT: u32 = 20;
// @ts-ignore: decorator
@inline export const EVT_LPORT: u32 = 22;
// @ts-ignore: decorator
@inline export const EVT_LIP: u32 = 24;
// @ts-ignore: decorator
@inline export const EVT_SVC: u32 = 28;
// @ts-ignore: decorator
@inline export const EVT_RS: u32 = 30;
// @ts-ignore: decorator
@inline export const EVT_CMAC: u32 = 32;
// @ts-ignore: decorator
@inline export const EVT_CDEV: u32 = 38;
// @ts-ignore: decorator
@inline export const EVT_LIPIDX: u32 = 40;
// the core writes 0; on a cluster's sync link the host writes the owning member's number + 1
// (the member whose local address the session uses, or that created it); the core ignores it
// @ts-ignore: decorator
@inline export const EVT_OWNER: u32 = 39;
// @ts-ignore: decorator
@inline export const EVT_CIP6: u32 = 48;
// @ts-ignore: decorator
@inline export const EVT_VIP6: u32 = 64;
// @ts-ignore: decorator
@inline export const EVT_RIP6: u32 = 80;
// @ts-ignore: decorator
@inline export const EVT_LIP6: u32 = 96;
// PROXY protocol: where the header goes in the client's stream (clientaddr.ts proxyMark), u32
// @ts-ignore: decorator
@inline export const EVT_PROXY_MARK: u32 = 44;
// the session's extension record (seqadj.ts), copied whole: the named fields are its CONNX_*
// @ts-ignore: decorator
@inline export const EVT_CONNX: u32 = 112;
// @ts-ignore: decorator
@inline export const EVT_SEQ_DELTA_IN: u32 = EVT_CONNX + CONNX_SEQ_IN;
// @ts-ignore: decorator
@inline export const EVT_SEQ_DELTA_OUT: u32 = EVT_CONNX + CONNX_SEQ_OUT;
// @ts-ignore: decorator
@inline export const EVT_TS_DELTA: u32 = EVT_CONNX + CONNX_TS;
// @ts-ignore: decorator
@inline export const EVT_CONNX_FLAGS: u32 = EVT_CONNX + CONNX_FLAGS;
// @ts-ignore: decorator
@inline export const EVT_CONNX_AUX: u32 = EVT_CONNX + CONNX_AUX;
// @ts-ignore: decorator
@inline export const EVT_SIZE: u32 = 128;
// @ts-ignore: decorator
@inline export const EVT_CREATED: u8 = 1;
// @ts-ignore: decorator
@inline export const EVT_EXPIRED: u8 = 2;
// a persistence template was created / expired
// @ts-ignore: decorator
@inline export const EVT_TEMPLATE_CREATED: u8 = 3;
// @ts-ignore: decorator
@inline export const EVT_TEMPLATE_EXPIRED: u8 = 4;
// a TCP session changed state (what a backup director needs to keep its timers right)
// @ts-ignore: decorator
@inline export const EVT_STATE_CHANGED: u8 = 5;
// a logged connection ended: the session's record with EVT_REASON (CEND_*) set, always followed
// in the ring by its EVT_CONN_STATS record; the core publishes both with one store of the head,
// so a reader sees the pair or neither (a full ring drops both and counts STAT_EVENTS_LOST once)
// @ts-ignore: decorator
@inline export const EVT_CONN_END: u8 = 6;
// +0 u8 type │ +8..+39 the connection's CONNSTATS record as it was when the connection ended
// @ts-ignore: decorator
@inline export const EVT_CONN_STATS: u8 = 7;
// EVT_CONN_END: how the connection ended (CEND_*)
// @ts-ignore: decorator
@inline export const EVT_REASON: u32 = 42;
// EVT_CONN_STATS: where the copied CONNSTATS record starts
// @ts-ignore: decorator
@inline export const EVT_STATS: u32 = 8;
// expired by its idle timer with neither FIN nor RST seen (UDP always ends so)
// @ts-ignore: decorator
@inline export const CEND_TIMEOUT: u8 = 0;
// a FIN was seen (either side) and no RST: the IPVS closing states ran out (RFC 9293 §3.6)
// @ts-ignore: decorator
@inline export const CEND_FIN: u8 = 1;
// an RST was seen (either side)
// @ts-ignore: decorator
@inline export const CEND_RST: u8 = 2;
// its service or real server was removed: the session was flushed
// @ts-ignore: decorator
@inline export const CEND_FLUSHED: u8 = 3;
// a new SYN of the same client tuple took the closing session's place (TCP port reuse)
// @ts-ignore: decorator
@inline export const CEND_EVICTED: u8 = 4;

// ╒═══ connection counters (CONNSTATS_SIZE = 32 B, record i at HDR_CONNSTATS_BASE + 32 i) ═══╕
// │ +0 u32 packets in │ +4 u32 packets out                                                  │
// │ +8 u64 bytes in (low 56 bits; +15 u8 CSTF_* flags) │ +16 u64 bytes out                  │
// │ +24 u32 created, ms (core clock) │ +28 u32 last packet, ms                              │
// └──────────────────────────────────────────────────────────────────────────────────────────┘
// Bytes are IP total lengths as the packets arrived (as the service and RS byte counters).
// @ts-ignore: decorator
@inline export const CST_PKTS_IN: u32 = 0;
// @ts-ignore: decorator
@inline export const CST_PKTS_OUT: u32 = 4;
// @ts-ignore: decorator
@inline export const CST_BYTES_IN: u32 = 8;
// the top byte of the bytes-in word: 2^56 bytes (72 PB) never carry into it
// @ts-ignore: decorator
@inline export const CST_FLAGS: u32 = 15;
// @ts-ignore: decorator
@inline export const CST_BYTES_OUT: u32 = 16;
// @ts-ignore: decorator
@inline export const CST_CREATED: u32 = 24;
// @ts-ignore: decorator
@inline export const CST_LAST: u32 = 28;
// @ts-ignore: decorator
@inline export const CONNSTATS_SIZE: u32 = 32;
// the record belongs to a connection whose service logged connections when it started: only
// those are counted and logged (a reload that switches logs on or off changes new connections)
// @ts-ignore: decorator
@inline export const CSTF_LOGGED: u8 = 1;
// @ts-ignore: decorator
@inline export const CSTF_FIN: u8 = 2;
// @ts-ignore: decorator
@inline export const CSTF_RST: u8 = 4;
// set just before a port reuse or the embryonic budget retires the record (CEND_EVICTED)
// @ts-ignore: decorator
@inline export const CSTF_EVICTED: u8 = 8;

// importConn results
// @ts-ignore: decorator
@inline export const SYNC_CREATED: u32 = 1;
// @ts-ignore: decorator
@inline export const SYNC_UPDATED: u32 = 2;
/** the record names no live service or real server, or is malformed */
// @ts-ignore: decorator
@inline export const SYNC_BAD: u32 = 3;
// @ts-ignore: decorator
@inline export const SYNC_TABLE_FULL: u32 = 4;
/** its reply key or Full-NAT port is taken by another session */
// @ts-ignore: decorator
@inline export const SYNC_CONFLICT: u32 = 5;
/**
 * the record carries sequence or timestamp translation (SYN proxy, PROXY protocol) and this
 * director has no extension records (or no PROXY marks) to keep it: not installed, since the
 * connection would break on its first translated segment
 */
// @ts-ignore: decorator
@inline export const SYNC_NO_CONNX: u32 = 6;

// ── Full-NAT local addresses ─────────────────────────────────────────────────────────────────
// +0 u32 lip (wire) │ +4 u16 port min │ +6 u16 port max │ +8 u32 cursor (next port to try)
// +12 u32 tuples held (sessions and quarantine, toward every real server)
// A port is unique per (LIP, RIP, rport), not per LIP: the session index's out key is the record
// of what is in use (as the kernel's nf_nat_used_tuple), so no per-LIP bitmap exists.
// @ts-ignore: decorator
@inline export const LIP_ADDR: u32 = 0;
// @ts-ignore: decorator
@inline export const LIP_PORT_MIN: u32 = 4;
// @ts-ignore: decorator
@inline export const LIP_PORT_MAX: u32 = 6;
// @ts-ignore: decorator
@inline export const LIP_CURSOR: u32 = 8;
// @ts-ignore: decorator
@inline export const LIP_USED: u32 = 12;
// @ts-ignore: decorator
@inline export const LIP_SIZE: u32 = 16;
// tuples tried per LIP before the next LIP of the pool (Linux nf_nat tries up to 128)
// @ts-ignore: decorator
@inline export const FNAT_PROBES: u32 = 64;
// IPv6 extension of a LIP (LIP6_SIZE = 16 B, index = LIP index): +0 lip6[16]; for an IPv6
// LIP, LIP_ADDR holds its fold (FOLD6)
// @ts-ignore: decorator
@inline export const LIP6_ADDR: u32 = 0;
// @ts-ignore: decorator
@inline export const LIP6_SIZE: u32 = 16;

// ── fragments ────────────────────────────────────────────────────────────────────────────────
// ╒═════════════════ fragment decision (FRAG_SIZE = 48 B) ═════════════════╕
// │ +0 src[16] │ +16 dst[16] (IPv4: the first 4 bytes, the rest 0)        │
// │ +32 u32 ID │ +36 u8 proto │ +37 u8 flags (FRAGF_*) │ +38 u16 0        │
// │ +40 u32 index slot value of the session (rec + 1, dir bit) │ +44 expires│
// └────────────────────────────────────────────────────────────────────────┘
// The first fragment's decision, looked up by (src, dst, ID, proto) for the later fragments.
// A bounded cache: a lookup or an insert probes at most FRAG_PROBE entries.
// @ts-ignore: decorator
@inline export const FRAG_SRC: u32 = 0;
// @ts-ignore: decorator
@inline export const FRAG_DST: u32 = 16;
// @ts-ignore: decorator
@inline export const FRAG_ID: u32 = 32;
// @ts-ignore: decorator
@inline export const FRAG_PROTO: u32 = 36;
// @ts-ignore: decorator
@inline export const FRAG_FLAGS: u32 = 37;
// @ts-ignore: decorator
@inline export const FRAG_SLOT: u32 = 40;
// @ts-ignore: decorator
@inline export const FRAG_EXPIRES: u32 = 44;
// @ts-ignore: decorator
@inline export const FRAG_SIZE: u32 = 48;
// @ts-ignore: decorator
@inline export const FRAG_PROBE: u32 = 8;
// @ts-ignore: decorator
@inline export const FRAGF_USED: u8 = 1;
// @ts-ignore: decorator
@inline export const FRAGF_V6: u8 = 2;
// ╒═══════════ held fragment (HOLD_HDR = 64 B, then headroom and the frame) ═══════════╕
// │ +0 u8 state (HOLD_*) │ +1 u8 flags (HOLDF_*) │ +2 u8 out device │ +3 u8 in device  │
// │ +4 u32 expires │ +8 u32 frame offset from the entry │ +12 u32 frame length        │
// │ +16 src[16] │ +32 dst[16] │ +48 u32 ID │ +52 u8 proto │ +53..63 0                 │
// └────────────────────────────────────────────────────────────────────────────────────┘
// @ts-ignore: decorator
@inline export const HOLD_STATE: u32 = 0;
// @ts-ignore: decorator
@inline export const HOLD_FLAGS: u32 = 1;
// @ts-ignore: decorator
@inline export const HOLD_OUT_DEV: u32 = 2;
// @ts-ignore: decorator
@inline export const HOLD_IN_DEV: u32 = 3;
// @ts-ignore: decorator
@inline export const HOLD_EXPIRES: u32 = 4;
// @ts-ignore: decorator
@inline export const HOLD_FRAME: u32 = 8;
// @ts-ignore: decorator
@inline export const HOLD_LEN: u32 = 12;
// @ts-ignore: decorator
@inline export const HOLD_SRC: u32 = 16;
// @ts-ignore: decorator
@inline export const HOLD_DST: u32 = 32;
// @ts-ignore: decorator
@inline export const HOLD_ID: u32 = 48;
// @ts-ignore: decorator
@inline export const HOLD_PROTO: u32 = 52;
// @ts-ignore: decorator
@inline export const HOLD_HDR: u32 = 64;
// @ts-ignore: decorator
@inline export const HOLD_FREE: u8 = 0;
// @ts-ignore: decorator
@inline export const HOLD_WAITING: u8 = 1;
// @ts-ignore: decorator
@inline export const HOLD_READY: u8 = 2;
// the held frame starts with an Ethernet header
// @ts-ignore: decorator
@inline export const HOLDF_L2: u8 = 1;
// @ts-ignore: decorator
@inline export const HOLDF_V6: u8 = 2;

// ── per-slot scratch written by pass 1 and read by passes 2 and 3 ────────────────────────────
// +0 u32 hash │ +4 u32 l3 address │ +8 u32 l4 address │ +12 u8 class │ +13 u8 proto
// +14 u8 tcp flags │ +15 u8 icmp │ +16 src │ +20 dst │ +24 u16 sport │ +26 u16 dport
// +28 u32 IPv6 only: the fragment header of a first fragment, the quoted transport header of
// an ICMPv6 error, else 0; IPv4 frames of CLASS_IN: the reply-key index slot pass 2 predicted
// for the session the frame may create, + 1 (0: none; reply_touch.ts)
// +32 u32 the index slot value pass 2 found at the home slot of the frame's hash with the hash's
// tag (0: none); pass 3 of an IPv4 frame starts its lookup there while the index is unchanged
// IPv6 frames (classes with CLASS_V6, parse6.ts): src and dst hold the ADDRESSES of the 16-byte
// addresses (in the frame, or in the quoted packet of an ICMPv6 error), not the addresses.
// @ts-ignore: decorator
@inline export const SCR_HASH: u32 = 0;
// @ts-ignore: decorator
@inline export const SCR_L3: u32 = 4;
// @ts-ignore: decorator
@inline export const SCR_L4: u32 = 8;
// @ts-ignore: decorator
@inline export const SCR_CLASS: u32 = 12;
// @ts-ignore: decorator
@inline export const SCR_PROTO: u32 = 13;
// @ts-ignore: decorator
@inline export const SCR_TCPFLAGS: u32 = 14;
// @ts-ignore: decorator
@inline export const SCR_ICMP: u32 = 15;
// @ts-ignore: decorator
@inline export const SCR_SRC: u32 = 16;
// @ts-ignore: decorator
@inline export const SCR_DST: u32 = 20;
// @ts-ignore: decorator
@inline export const SCR_SPORT: u32 = 24;
// @ts-ignore: decorator
@inline export const SCR_DPORT: u32 = 26;
// @ts-ignore: decorator
@inline export const SCR_FRAG6: u32 = 28;
// @ts-ignore: decorator
@inline export const SCR_REPLY_SLOT: u32 = 28;
// @ts-ignore: decorator
@inline export const SCR_HOME: u32 = 32;
// @ts-ignore: decorator
@inline export const SCR_SIZE: u32 = 36;

// ── framing constants ────────────────────────────────────────────────────────────────────────
// @ts-ignore: decorator
@inline export const ETH_HLEN: u32 = 14;
// @ts-ignore: decorator
@inline export const VNET_HDR_LEN: u32 = 10;
// virtio_net_hdr fields
// @ts-ignore: decorator
@inline export const VNET_FLAGS: u32 = 0;
// @ts-ignore: decorator
@inline export const VNET_GSO_TYPE: u32 = 1;
// @ts-ignore: decorator
@inline export const VNET_HDR_LEN_FIELD: u32 = 2;
// @ts-ignore: decorator
@inline export const VNET_GSO_SIZE: u32 = 4;
// @ts-ignore: decorator
@inline export const VNET_CSUM_START: u32 = 6;
// @ts-ignore: decorator
@inline export const VNET_CSUM_OFFSET: u32 = 8;
// @ts-ignore: decorator
@inline export const VNET_F_NEEDS_CSUM: u8 = 1;
// @ts-ignore: decorator
@inline export const VNET_GSO_NONE: u8 = 0;
// minimum headroom the host must leave before each frame
// @ts-ignore: decorator
@inline export const MIN_HEADROOM: u32 = 64;
// IP protocol numbers
// @ts-ignore: decorator
@inline export const IPPROTO_ICMP: u8 = 1;
// @ts-ignore: decorator
@inline export const IPPROTO_IPIP: u8 = 4;
// @ts-ignore: decorator
@inline export const IPPROTO_TCP: u8 = 6;
// @ts-ignore: decorator
@inline export const IPPROTO_UDP: u8 = 17;
// @ts-ignore: decorator
@inline export const IPPROTO_IPV6: u8 = 41;
// @ts-ignore: decorator
@inline export const IPPROTO_ICMPV6: u8 = 58;
// @ts-ignore: decorator
@inline export const IPPROTO_VRRP: u8 = 112;
