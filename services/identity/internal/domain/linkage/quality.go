package linkage

import (
	"cmp"
	"slices"
)

// PairQuality is pairwise linkage quality against a ground truth: a pair of
// records counts as linked when both sit in one cluster, as true when both
// belong to one person.
type PairQuality struct {
	TruePositives  int64   `json:"true_positives"`
	PredictedPairs int64   `json:"predicted_pairs"`
	TruePairs      int64   `json:"true_pairs"`
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
	F1             float64 `json:"f1"`
}

// EvaluatePairs scores clusters against truth (a person id per record) by
// counting pairs through cluster sizes, never enumerating them: for n
// records in one cell there are n(n-1)/2 pairs.
func EvaluatePairs(clusters, truth []int32) PairQuality {
	var q PairQuality
	q.TruePositives = sumPairs(runSizes(cellKeys(clusters, truth)))
	q.PredictedPairs = sumPairs(runSizes(labelKeys(clusters)))
	q.TruePairs = sumPairs(runSizes(labelKeys(truth)))
	q.Precision, q.Recall = 1, 1
	if q.PredictedPairs > 0 {
		q.Precision = float64(q.TruePositives) / float64(q.PredictedPairs)
	}
	if q.TruePairs > 0 {
		q.Recall = float64(q.TruePositives) / float64(q.TruePairs)
	}
	if q.Precision+q.Recall > 0 {
		q.F1 = 2 * q.Precision * q.Recall / (q.Precision + q.Recall)
	}
	return q
}

// GroupQuality is record-level linkage in one group (say, an age band and
// service): of the records whose person has another record, how many were
// linked to at least one of them; and how many records were put with a
// record of someone else.
type GroupQuality struct {
	Records       int `json:"records"`
	WithMatch     int `json:"with_match"`     // the person has another record
	Found         int `json:"found"`          // linked to at least one of them
	FalselyJoined int `json:"falsely_joined"` // cluster holds another person's record
}

// EvaluateGroups computes GroupQuality for groups 0..n-1, given each
// record's group.
func EvaluateGroups(clusters, truth []int32, group []uint16, n int) []GroupQuality {
	same := runSizes(cellKeys(clusters, truth))
	clusterSize := runSizes(labelKeys(clusters))
	personSize := runSizes(labelKeys(truth))
	out := make([]GroupQuality, n)
	for i := range clusters {
		g := &out[group[i]]
		g.Records++
		if personSize[i] > 1 {
			g.WithMatch++
			if same[i] > 1 {
				g.Found++
			}
		}
		if clusterSize[i] > same[i] {
			g.FalselyJoined++
		}
	}
	return out
}

func cellKeys(clusters, truth []int32) []uint64 {
	keys := make([]uint64, len(clusters))
	for i := range clusters {
		keys[i] = uint64(uint32(clusters[i]))<<32 | uint64(uint32(truth[i]))
	}
	return keys
}

func labelKeys(labels []int32) []uint64 {
	keys := make([]uint64, len(labels))
	for i, l := range labels {
		keys[i] = uint64(uint32(l))
	}
	return keys
}

// runSizes returns, for each record, how many records share its key.
func runSizes(keys []uint64) []int32 {
	order := make([]int32, len(keys))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(keys[a], keys[b]) })
	out := make([]int32, len(keys))
	for lo := 0; lo < len(order); {
		hi := lo + 1
		for hi < len(order) && keys[order[hi]] == keys[order[lo]] {
			hi++
		}
		for _, i := range order[lo:hi] {
			out[i] = int32(hi - lo)
		}
		lo = hi
	}
	return out
}

// sumPairs adds n(n-1)/2 per run from per-record run sizes: each record
// carries (n-1)/2 of its run's pairs.
func sumPairs(size []int32) int64 {
	var twice int64
	for _, n := range size {
		twice += int64(n) - 1
	}
	return twice / 2
}

// ResolveReviews returns clusters after joining the review decisions that
// accept approves, as an operator working through the queue would: it shows
// what the queue is worth (accept = the truth, in a benchmark).
func ResolveReviews(clusters []int32, decisions []Decision, accept func(Decision) bool) []int32 {
	parent := slices.Clone(clusters)
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, d := range decisions {
		if d.Band != BandReview || !accept(d) {
			continue
		}
		a, b := find(d.A), find(d.B)
		if a > b {
			a, b = b, a
		}
		parent[b] = a
	}
	out := make([]int32, len(parent))
	for i := range out {
		out[i] = find(int32(i))
	}
	return out
}
