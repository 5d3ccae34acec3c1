// Package trace models system-call traces: it learns the normal traces of a
// role or a dataset and says how novel another trace is. The models are an
// interpolated n-gram language model (ngram.go), nearest-trace profiles of
// calls and call pairs (nearest.go), the n-gram model of the training
// traces nearest by calls (local.go), the properties of a trace as a
// whole, its length and how it repeats (shape.go), how a trace is covered
// by subsequences of any length of the training traces, found with a
// suffix automaton (cover.go, automaton.go), and two neural language
// models written here in pure Go, a neural n-gram model (nlm.go) and a GRU
// (rnn*.go).
// Sequence turns them into features, cross-fitted so that a training trace
// is scored by models that never saw it (crossfit.go), as one consensus
// feature or as separate ones.
//
// The service's baselines and imgward eval both score traces through it.
package trace
