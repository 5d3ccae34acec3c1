package pipeline

import "imgward/detect/trace"

// DefaultSequence is the configuration of the sequence features of every
// baseline the service builds and of imgward eval unless told otherwise:
// the one place the default is defined. It is the n-gram scores as
// separate features, which fit in well under a second, not their
// consensus: a trace made of a known program's calls in a new order, such
// as a server that reads files and sends them out, is ordinary to the
// consensus's repertoire model and so to the consensus (api
// TestDetectionSyscalls fails with it). A baseline records the
// configuration it was built with, so a change here changes only the
// baselines built after it.
func DefaultSequence() trace.SequenceConfig {
	return trace.SequenceConfig{Separate: true}
}

// legacySequence is the configuration of the baselines stored before
// models recorded theirs: they keep scoring as they were built.
var legacySequence = trace.SequenceConfig{Separate: true}

// sequenceConfig returns the configuration the model's sequence features
// follow, seeded with the model's seed; a copy, so that the defaults a
// fit fills in do not change what the model stores.
func (m *Model) sequenceConfig() trace.SequenceConfig {
	c := legacySequence
	if m.Sequence != nil {
		c = *m.Sequence
	}
	if c.Neural != nil {
		n := *c.Neural
		c.Neural = &n
	}
	if c.Recurrent != nil {
		r := *c.Recurrent
		c.Recurrent = &r
	}
	c.Seed = m.Seed
	return c
}
