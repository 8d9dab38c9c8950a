/*
 * replay.c — the receive counter window of one keypair (RFC 6479 ring of
 * 64-bit words), with exactly the semantics of Linux WireGuard's
 * counter_validate() in drivers/net/wireguard/receive.c. Run by the lcore
 * that owns the peer; no locking, no allocation.
 *
 * Layout: counter c is bit (c + 1) of the ring, and r->greatest is the
 * highest accepted counter + 1, so 0 means "none yet" and counter 0 needs no
 * special case. A counter is accepted when it is below REJECT_AFTER_MESSAGES,
 * not more than WG_REPLAY_WINDOW_SIZE behind the highest accepted one, and
 * not seen before. The ring holds 64 bits more than the window, so the word
 * that the newest counter falls into never aliases a word still in use.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "replay.h"

_Static_assert(WG_REPLAY_WORD_BITS == 64, "the ring is made of uint64_t words");
_Static_assert((WG_REPLAY_WORDS & (WG_REPLAY_WORDS - 1)) == 0,
	       "the ring size must be a power of two");
_Static_assert(WG_REPLAY_WINDOW_SIZE <= WG_REPLAY_WINDOW_BITS - WG_REPLAY_WORD_BITS,
	       "the window must leave one word of slack in the ring");
/* counter + 1 + WG_REPLAY_WINDOW_SIZE must not wrap for an in-range counter */
_Static_assert(WG_REJECT_AFTER_MESSAGES <= UINT64_MAX - WG_REPLAY_WINDOW_SIZE - 1,
	       "REJECT_AFTER_MESSAGES too close to 2^64");

enum {
	WORD_SHIFT = 6, /* log2(WG_REPLAY_WORD_BITS) */
	WORD_MASK = WG_REPLAY_WORD_BITS - 1,
	RING_MASK = WG_REPLAY_WORDS - 1,
};

void
cr_replay_init(struct cr_replay *r)
{
	memset(r, 0, sizeof(*r));
}

/*
 * The tests that need no bitmap. `pos` is counter + 1, the ring position.
 * The first condition on r->greatest cannot hold for a window that only
 * cr_replay_check() wrote; it is kept, as in Linux, against a corrupt one.
 */
static inline int
precheck(const struct cr_replay *r, uint64_t counter)
{
	if (r->greatest > WG_REJECT_AFTER_MESSAGES || counter >= WG_REJECT_AFTER_MESSAGES)
		return -ERANGE;
	/* Linux: if (COUNTER_WINDOW_SIZE + their_counter < counter->counter) */
	if (WG_REPLAY_WINDOW_SIZE + (counter + 1) < r->greatest)
		return -EALREADY;
	return 0;
}

int
cr_replay_peek(const struct cr_replay *r, uint64_t counter)
{
	uint64_t pos = counter + 1;
	int ret;

	ret = precheck(r, counter);
	if (ret != 0)
		return ret;
	/*
	 * Ahead of the greatest: check() would clear the words up to pos's
	 * before setting the bit, and the bits above r->greatest in its own
	 * word are always clear (the word was zeroed when it became current).
	 */
	if (pos > r->greatest)
		return 0;
	if (r->bitmap[(pos >> WORD_SHIFT) & RING_MASK] & (UINT64_C(1) << (pos & WORD_MASK)))
		return -EALREADY;
	return 0;
}

int
cr_replay_check(struct cr_replay *r, uint64_t counter)
{
	uint64_t pos = counter + 1;
	uint64_t index = pos >> WORD_SHIFT;
	uint64_t bit = UINT64_C(1) << (pos & WORD_MASK);
	uint64_t *word;
	int ret;

	ret = precheck(r, counter);
	if (ret != 0)
		return ret;

	if (pos > r->greatest) {
		uint64_t current = r->greatest >> WORD_SHIFT;
		uint64_t top = index - current;
		uint64_t i;

		/* Clear the words the window slides over; after a jump of a
		 * whole ring or more that is every word. */
		if (top > WG_REPLAY_WORDS)
			top = WG_REPLAY_WORDS;
		for (i = 1; i <= top; i++)
			r->bitmap[(current + i) & RING_MASK] = 0;
		r->greatest = pos;
	}

	word = &r->bitmap[index & RING_MASK];
	if (*word & bit)
		return -EALREADY;
	*word |= bit;
	return 0;
}
