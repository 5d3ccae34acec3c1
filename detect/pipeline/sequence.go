package pipeline

import "imgward/detect/trace"

// DefaultSequence is the configuration of the sequence features of every
// baseline the service builds and of imgward eval unless told otherwise:
// the one place the default is defined. It is trace.DefaultModels, the
// n-gram NLL, STIDE and the nearest training trace by its calls and by its
// pairs, as separate features: the configuration that leave-one-attack-
// family-out selection chose on ADFA-LD through this pipeline
// (docs/EVALUATION.md). A baseline records the
// configuration it was built with, so a change here changes only the
// baselines built after it.
func DefaultSequence() trace.SequenceConfig {
	return trace.SequenceConfig{}
}

// legacySequence is the configuration of the baselines stored before
// models recorded theirs: the NLL and STIDE as separate features. They
// keep scoring as they were built.
var legacySequence = trace.SequenceConfig{Models: []trace.Model{trace.NLL, trace.Unseen}}

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
