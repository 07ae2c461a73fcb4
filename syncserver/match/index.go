package match

import (
	"slices"
)

// Index is an in-memory blocking index: key → residents, in the order they
// were added. Residents are dense int32 ids (arrival order) chosen by the
// caller. Keys are kept as 64-bit FNV-1a hashes; a collision only adds a
// candidate, which scoring then rejects.
//
// The store's equivalent is a table (key, resident, seq) with an index on
// (key, seq), queried with ORDER BY seq DESC LIMIT perKey for each key.
//
// An Index is not safe for concurrent use.
type Index struct {
	blocks map[uint64][]int32
	stamp  []uint32 // per id: the query that last returned it
	query  uint32
}

// NewIndex returns an empty index.
func NewIndex() *Index { return &Index{blocks: make(map[uint64][]int32)} }

// Add stores id under keys. Ids must be added in increasing order.
func (ix *Index) Add(id int32, keys []string) {
	for _, k := range keys {
		h := hashKey(k)
		b := ix.blocks[h]
		if n := len(b); n > 0 && b[n-1] == id {
			continue // the same key twice, or a collision within one resident
		}
		ix.blocks[h] = append(b, id)
	}
	for int(id) >= len(ix.stamp) {
		ix.stamp = append(ix.stamp, 0)
	}
}

// Keys is the number of distinct keys stored.
func (ix *Index) Keys() int { return len(ix.blocks) }

// BlockSize is the number of residents stored under key.
func (ix *Index) BlockSize(key string) int { return len(ix.blocks[hashKey(key)]) }

// Candidates appends to dst the distinct residents stored under keys: of
// each key the perKey most recently added, and at most limit in all,
// taking the keys with the fewest residents first (an Aadhaar or phone
// block before a common name's). Its cost is bounded by perKey and limit,
// whatever the size of the index.
func (ix *Index) Candidates(keys []string, perKey, limit int, dst []int32) []int32 {
	type block struct {
		ids  []int32
		size int // before the cap: how common the key is
	}
	var buf [64]block
	blocks := buf[:0]
	for _, k := range keys {
		b := ix.blocks[hashKey(k)]
		if len(b) == 0 {
			continue
		}
		size := len(b)
		if len(b) > perKey {
			b = b[len(b)-perKey:]
		}
		blocks = append(blocks, block{b, size})
	}
	slices.SortStableFunc(blocks, func(x, y block) int { return x.size - y.size })
	ix.query++
	if ix.query == 0 { // wrapped: forget every stamp
		clear(ix.stamp)
		ix.query = 1
	}
	start := len(dst)
	for _, b := range blocks {
		for j := len(b.ids) - 1; j >= 0; j-- {
			id := b.ids[j]
			if ix.stamp[id] == ix.query {
				continue
			}
			ix.stamp[id] = ix.query
			dst = append(dst, id)
			if len(dst)-start >= limit {
				return dst
			}
		}
	}
	return dst
}

func hashKey(s string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	return h
}
