package pipeline

import "imgward/detect/trace"

// DefaultSequence is the configuration of the sequence features of every
// baseline the service builds and of imgward eval unless told otherwise:
// the one place the default is defined, beside DefaultTraceFeatures. It is
// the n-gram NLL (order 6) and the nearest training trace by its set of
// calls, as separate features: with DefaultTraceFeatures (ECODX), the
// configuration with the best worst family in leave-one-attack-family-out
// selection on ADFA-LD through this pipeline among those that also catch a
// trace of known calls in a new order (api TestDetectionSyscalls's
// exfiltrator, in 10 of 10 draws of its traces; the same features scored
// by ECOD, ranked first, missed it in 4 to 6; docs/EVALUATION.md). It names
// its models rather than leave them to trace.DefaultModels, which the
// baselines that recorded a configuration without models were built with.
// A baseline records the configuration it was built with, so a change here
// changes only the baselines built after it.
func DefaultSequence() trace.SequenceConfig {
	return trace.SequenceConfig{Models: []trace.Model{trace.NLL, trace.Calls}}
}

// TraceFeatures are the choices of a baseline whose training snapshots
// carry system-call sequences, beyond its sequence features
// (trace.SequenceConfig): the feature families and the detector that
// scores the rows.
type TraceFeatures struct {
	// CallSet adds the set features of a trace's distinct calls,
	// syscalls.count and syscalls.novel (the calls the baseline's
	// vocabulary lacks), to the sequence features.
	CallSet bool
	// Detector scores the rows of such a baseline when Config.Detector
	// is "" (the service's default); "" means detect.DefaultName.
	Detector string
}

// DefaultTraceFeatures are the choices of every trace baseline the
// service builds and of imgward eval on traces unless told otherwise:
// the configuration that leave-one-attack-family-out selection chose on
// ADFA-LD (docs/EVALUATION.md). A baseline records what it was built with
// (Model.Detector, Model.NoCallSet), so a change here changes only the
// baselines built after it.
//
// The selection chose the sequence features alone, scored by ECODX (ECOD
// with extrapolated tails, so that traces beyond every training trace on a
// feature do not tie at the top): the call set cost 44 of the 46
// candidates measured both ways 0.01–0.08 of cross-validated AUC on their
// worst family (a novel call is already what seq.calls sees, and the count
// of distinct calls mostly tells programs apart). A snapshot of
// such a baseline that has only a histogram of calls, no sequence, is
// therefore scored by its other features alone.
func DefaultTraceFeatures() TraceFeatures {
	return TraceFeatures{Detector: "ecodx"}
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
