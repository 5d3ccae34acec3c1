package dataset

import (
	"math"

	"imgward/errors"
)

// ParseSequence parses a trace: integers in the range of int32 separated by
// spaces or tabs, at most max of them (max <= 0 means the default limit of
// 1,000,000). An empty trace, a field that is not an integer, or one out of
// range is an error of kind Invalid; a trace over max is kind TooLarge.
func ParseSequence(s string, max int) ([]int32, error) {
	const op = "dataset.ParseSequence"
	if max <= 0 {
		max = Limits{}.withDefaults().MaxSequence
	}
	out := make([]int32, 0, min(len(s)/2+1, max))
	for i := 0; i < len(s); {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			break
		}
		start, neg := i, false
		if s[i] == '-' || s[i] == '+' {
			neg = s[i] == '-'
			i++
		}
		var v int64
		digits := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			v = v*10 + int64(s[i]-'0')
			digits++
			if v > math.MaxInt32+1 {
				return nil, errors.E(op, errors.Invalid,
					errors.Errorf("element %d is out of range", len(out)+1))
			}
		}
		if neg {
			v = -v
		}
		if digits == 0 || (i < len(s) && s[i] != ' ' && s[i] != '\t') {
			end := i + 1
			for end < len(s) && s[end] != ' ' && s[end] != '\t' && end-start < 20 {
				end++
			}
			return nil, errors.E(op, errors.Invalid,
				errors.Errorf("element %d, %q, is not an integer", len(out)+1, s[start:min(end, len(s))]))
		}
		if v > math.MaxInt32 || v < math.MinInt32 {
			return nil, errors.E(op, errors.Invalid,
				errors.Errorf("element %d is out of range", len(out)+1))
		}
		if len(out) == max {
			return nil, errors.E(op, errors.TooLarge,
				errors.Errorf("trace is longer than the limit of %d elements", max))
		}
		out = append(out, int32(v))
	}
	if len(out) == 0 {
		return nil, errors.E(op, errors.Invalid, errors.New("empty trace"))
	}
	return out, nil
}
