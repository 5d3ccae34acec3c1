package monitor

import (
	"testing"

	"imgward"
)

func TestPublisherVerdict(t *testing.T) {
	s := &Service{}
	flag := func(score float64) *imgward.Verdict {
		st := imgward.VerdictOK
		if score > 3 {
			st = imgward.VerdictFlagged
		}
		return &imgward.Verdict{Score: score, Threshold: 3, State: st}
	}
	tests := []struct {
		name      string
		prev      *imgward.Verdict
		score     float64
		fresh     bool
		wantState imgward.VerdictState
	}{
		{"first, under", nil, 1, false, imgward.VerdictOK},
		{"first, over", nil, 5, true, imgward.VerdictFlagged},
		{"was ok, over", &imgward.Verdict{State: imgward.VerdictOK}, 5, true, imgward.VerdictFlagged},
		{"stays flagged", &imgward.Verdict{State: imgward.VerdictFlagged}, 1, false, imgward.VerdictFlagged},
		{"cleared at 6, now 5", &imgward.Verdict{State: imgward.VerdictCleared, Threshold: 6}, 5, false, imgward.VerdictCleared},
		{"cleared at 6, now 7", &imgward.Verdict{State: imgward.VerdictCleared, Threshold: 6}, 7, true, imgward.VerdictFlagged},
	}
	for _, tt := range tests {
		v := flag(tt.score)
		fresh, _ := s.publisherVerdict(tt.prev, v)
		if fresh != tt.fresh || v.State != tt.wantState {
			t.Errorf("%s: fresh %v, state %s; want %v, %s", tt.name, fresh, v.State, tt.fresh, tt.wantState)
		}
	}
}
