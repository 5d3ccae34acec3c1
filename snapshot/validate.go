package snapshot

import (
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"imgward/errors"
)

// Validate checks s against the rules and limits of format v1 and returns
// an error of kind Invalid, or TooLarge for a limit, whose client message
// names the first rule broken. The bounds of taken_at against the clock
// are the server's, checked by Parse.
func (s *Snapshot) Validate() error {
	if msg, k := s.problem(); msg != "" {
		return errors.E("snapshot.Validate", k, errors.Msg(msg))
	}
	return nil
}

// problem returns what is wrong with s and its kind, or "".
func (s *Snapshot) problem() (string, errors.Kind) {
	switch {
	case !ValidInstanceID(string(s.InstanceID)):
		return `instance_id must be "i-" and 16 lowercase hex digits`, errors.Invalid
	case s.TakenAt.IsZero():
		return "taken_at is missing", errors.Invalid
	case !slices.Contains(Sources, s.Source):
		return "source must be one of vmi, procfs, ingest, sim, dataset", errors.Invalid
	}
	if msg, k := s.numericProblem(); msg != "" {
		return msg, k
	}
	if msg, k := s.setsProblem(); msg != "" {
		return msg, k
	}
	if name := NumberAndSet(s.Numeric, s.Sets); name != "" {
		return name + " is both a numeric feature and a set; a name is one or the other", errors.Invalid
	}
	return s.Syscalls.problem()
}

// NumberAndSet returns a name that is both a numeric feature and a set, the
// least such name when there are several, or "" when there is none. The
// unified state keeps one parameter per name, a number or a set, so such a
// snapshot could be stored but never folded (docs/SNAPSHOT.md).
func NumberAndSet(numeric map[string]float64, sets map[string][]string) string {
	both := ""
	for name := range sets {
		if _, ok := numeric[name]; ok && (both == "" || name < both) {
			both = name
		}
	}
	return both
}

func (s *Snapshot) numericProblem() (string, errors.Kind) {
	if len(s.Numeric) > MaxNumeric {
		return "more than 256 numeric features", errors.TooLarge
	}
	// A decoded snapshot's row holds the map's entries: reading it is
	// cheaper than iterating the map, and reports the first bad number of
	// the line.
	if names, values, ok := s.NumericRow(); ok {
		for k, name := range names {
			if msg := numberProblem(name, values[k]); msg != "" {
				return msg, errors.Invalid
			}
		}
		return "", 0
	}
	for name, v := range s.Numeric {
		if msg := numberProblem(name, v); msg != "" {
			return msg, errors.Invalid
		}
	}
	return "", 0
}

// numberProblem returns what is wrong with a numeric feature, or "".
func numberProblem(name string, v float64) string {
	if !ValidName(name) {
		return "numeric feature name " + strconv.Quote(clip(name)) + " is not 1-64 bytes of [a-z0-9_.]"
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "numeric feature " + name + " is not finite"
	}
	return ""
}

func (s *Snapshot) setsProblem() (string, errors.Kind) {
	if len(s.Sets) > MaxSets {
		return "more than 32 set features", errors.TooLarge
	}
	for name, items := range s.Sets {
		if !ValidName(name) {
			return "set name " + strconv.Quote(clip(name)) + " is not 1-64 bytes of [a-z0-9_.]", errors.Invalid
		}
		if len(items) > MaxSetItems {
			return "set " + name + " has more than 1024 items", errors.TooLarge
		}
		for _, it := range items {
			if len(it) > MaxItem {
				return "an item of set " + name + " is over 256 bytes or not UTF-8", errors.TooLarge
			}
			if !utf8.ValidString(it) {
				return "an item of set " + name + " is over 256 bytes or not UTF-8", errors.Invalid
			}
		}
	}
	return "", 0
}

func (c *Syscalls) problem() (string, errors.Kind) {
	switch {
	case c == nil:
		return "", 0
	case len(c.Sequence) > 0 && len(c.Histogram) > 0:
		return "syscalls holds a sequence or a histogram, not both", errors.Invalid
	case len(c.Sequence) == 0 && len(c.Histogram) == 0:
		return "syscalls holds neither a sequence nor a histogram", errors.Invalid
	case len(c.Sequence) > MaxSequence:
		return "syscall sequence is longer than 65536", errors.TooLarge
	case len(c.Histogram) > MaxHistogram:
		return "syscall histogram has more than 4096 entries", errors.TooLarge
	}
	for _, nr := range c.Sequence {
		if nr < 0 || nr > MaxSyscall {
			return "syscall numbers must be in [0, 99999]", errors.Invalid
		}
	}
	for nr, n := range c.Histogram {
		if nr < 0 || nr > MaxSyscall {
			return "syscall histogram keys must be numbers in [0, 99999]", errors.Invalid
		}
		if n > math.MaxInt64 {
			return "syscall counts must be at most 2^63-1", errors.Invalid
		}
	}
	return "", 0
}

// ValidName reports whether name is a feature name: 1 to 64 bytes of
// [a-z0-9_.].
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > MaxName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// ValidInstanceID reports whether id is "i-" and 16 lowercase hex digits.
func ValidInstanceID(id string) bool {
	if len(id) != 18 || id[:2] != "i-" {
		return false
	}
	for i := 2; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// clip shortens a name for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
