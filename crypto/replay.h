/*
 * replay.h — the receive counter window for transport data: an 8192-bit
 * ring of 64-bit words (RFC 6479), so a message is accepted once, in any
 * order within the window, and never once the counter reaches
 * REJECT_AFTER_MESSAGES. One instance per keypair, touched only by the lcore
 * that owns the peer.
 */
#ifndef GATE44_REPLAY_H
#define GATE44_REPLAY_H

#include <stdint.h>

#include "wg_const.h"

struct cr_replay {
	uint64_t greatest;    /* highest counter accepted + 1 (0: none yet) */
	uint64_t bitmap[WG_REPLAY_WORDS];
};

void cr_replay_init(struct cr_replay *r);
/* Would counter be accepted? Does not change r. Used before decryption to
 * skip work on obvious replays. Return 0, -EALREADY (seen or behind the
 * window), -ERANGE (>= REJECT_AFTER_MESSAGES). */
int cr_replay_peek(const struct cr_replay *r, uint64_t counter);
/* Accept counter and mark it seen: call only after the message
 * authenticated. Same returns as cr_replay_peek. */
int cr_replay_check(struct cr_replay *r, uint64_t counter);

#endif /* GATE44_REPLAY_H */
