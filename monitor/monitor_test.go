package monitor

import (
	"testing"

	"imgward"
)

func TestPublisherVerdict(t *testing.T) {
	s := &Service{}
	// A run's verdict: flagged over the threshold 3; uncapped is the mean
	// surprise without the cap of 10 on each instance's.
	flag := func(score, uncapped float64) *imgward.Verdict {
		st := imgward.VerdictOK
		if score > 3 {
			st = imgward.VerdictFlagged
		}
		return &imgward.Verdict{Score: score, Uncapped: uncapped, Threshold: 3, State: st}
	}
	cleared := func(at float64) *imgward.Verdict {
		return &imgward.Verdict{State: imgward.VerdictCleared, Threshold: 3, ClearedScore: at, ClearedBy: "admin"}
	}
	tests := []struct {
		name             string
		prev             *imgward.Verdict
		score, uncapped  float64
		fresh            bool
		wantState        imgward.VerdictState
		wantClearedScore float64
	}{
		{"first, under", nil, 1, 1, false, imgward.VerdictOK, 0},
		{"first, over", nil, 5, 5, true, imgward.VerdictFlagged, 0},
		{"was ok, over", &imgward.Verdict{State: imgward.VerdictOK}, 5, 5, true, imgward.VerdictFlagged, 0},
		{"stays flagged", &imgward.Verdict{State: imgward.VerdictFlagged}, 1, 1, false, imgward.VerdictFlagged, 0},
		{"cleared at 6, same", cleared(6), 6, 6, false, imgward.VerdictCleared, 6},
		{"cleared at 6, a little worse", cleared(6), 7, 7, false, imgward.VerdictCleared, 6},
		{"cleared at 6, a fifth worse", cleared(6), 7.3, 7.3, true, imgward.VerdictFlagged, 0},
		{"cleared at 2.5, one unit worse", cleared(2.5), 3.4, 3.6, true, imgward.VerdictFlagged, 0},
		{"cleared at 2.5, under the threshold", cleared(2.5), 2.9, 3.6, false, imgward.VerdictCleared, 2.5},
		// Cleared at the cap: the capped score can never rise again, the
		// uncapped one can.
		{"cleared at the cap, same", cleared(40), 10, 40, false, imgward.VerdictCleared, 40},
		{"cleared at the cap, stronger", cleared(40), 10, 60, true, imgward.VerdictFlagged, 0},
		{"cleared at the cap, better", cleared(40), 10, 20, false, imgward.VerdictCleared, 40},
		// Cleared before uncapped scores were kept: the raised threshold.
		{"cleared long ago at 6, same", &imgward.Verdict{State: imgward.VerdictCleared, Threshold: 6, ClearedBy: "admin"}, 6, 6.5, false, imgward.VerdictCleared, 6},
		{"cleared long ago at 6, worse", &imgward.Verdict{State: imgward.VerdictCleared, Threshold: 6}, 9, 9, true, imgward.VerdictFlagged, 0},
	}
	for _, tt := range tests {
		v := flag(tt.score, tt.uncapped)
		fresh, _ := s.publisherVerdict(tt.prev, v)
		if fresh != tt.fresh || v.State != tt.wantState || v.ClearedScore != tt.wantClearedScore {
			t.Errorf("%s: fresh %v, state %s, cleared at %v; want %v, %s, %v", tt.name, fresh, v.State, v.ClearedScore,
				tt.fresh, tt.wantState, tt.wantClearedScore)
		}
		if v.State == imgward.VerdictCleared && v.ClearedBy != "admin" {
			t.Errorf("%s: cleared by %q, want admin's kept", tt.name, v.ClearedBy)
		}
	}
}
