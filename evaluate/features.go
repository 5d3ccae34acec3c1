package evaluate

import (
	"imgward/detect/trace"
	"imgward/errors"
	"imgward/introspect/dataset"
)

// featurizer turns a table row into a feature vector: the numeric columns,
// then the sequence features of the trace column, if any.
type featurizer struct {
	cols   []string
	seqCol string
	seq    *trace.Sequence
}

// fitFeatures chooses the numeric columns of t, fits the sequence features
// on the training rows, and returns the training matrix.
func fitFeatures(t *dataset.Table, rows []int, o Options) (*featurizer, [][]float64, error) {
	exclude := []string{o.LabelCol}
	if o.SequenceCol != "" {
		exclude = append(exclude, o.SequenceCol)
	}
	for _, w := range o.Where {
		exclude = append(exclude, w.Col)
	}
	fz := &featurizer{cols: t.NumericColumns(exclude...), seqCol: o.SequenceCol}
	X, err := t.Matrix(rows, fz.cols)
	if err != nil {
		return nil, nil, err
	}
	if o.SequenceCol != "" {
		seqs, err := t.Sequences(rows, o.SequenceCol)
		if err != nil {
			return nil, nil, err
		}
		fz.seq = trace.NewSequence(trace.SequenceConfig{Seed: o.Seed, Neural: o.neural(),
			Recurrent: o.recurrent(), Combine: o.Combine, Models: o.Models, Order: o.Order})
		S, err := fz.seq.Fit(seqs)
		if err != nil {
			return nil, nil, err
		}
		for i := range X {
			X[i] = append(X[i], S[i]...)
		}
	}
	if len(fz.names()) == 0 {
		return nil, nil, errors.E("eval", errors.Invalid, errors.New(
			"no features: no column is numeric in every row, and --sequence-col is not set"))
	}
	return fz, X, nil
}

// names returns the feature names, in order.
func (fz *featurizer) names() []string {
	names := append([]string(nil), fz.cols...)
	if fz.seq != nil {
		names = append(names, fz.seq.Names()...)
	}
	return names
}

// rows returns the feature vectors of the given rows of t.
func (fz *featurizer) rows(t *dataset.Table, rows []int) ([][]float64, error) {
	X, err := t.Matrix(rows, fz.cols)
	if err != nil || fz.seq == nil {
		return X, err
	}
	seqs, err := t.Sequences(rows, fz.seqCol)
	if err != nil {
		return nil, err
	}
	fz.seq.AppendFeatures(seqs, X)
	return X, nil
}

// neural returns the configuration of the neural language model feature,
// or nil when it is off.
func (o Options) neural() *trace.NeuralConfig {
	if !o.Neural {
		return nil
	}
	return &trace.NeuralConfig{}
}

// recurrent returns the configuration of the recurrent language model
// feature, or nil when it is off.
func (o Options) recurrent() *trace.RecurrentConfig {
	if !o.Recurrent {
		return nil
	}
	return &trace.RecurrentConfig{}
}
