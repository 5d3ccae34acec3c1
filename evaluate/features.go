package evaluate

import (
	"imgward/detect/pipeline"
	"imgward/detect/trace"
	"imgward/introspect/dataset"
	"imgward/snapshot"
)

// replay returns how the rows of a table become snapshots: as `imgward
// replay` sends them to the service, without the label (it is no feature)
// and without the --train-where columns, so that eval scores exactly what
// the service would.
func (o Options) replay() *dataset.Replay {
	exclude := []string{o.LabelCol}
	if o.FamilyCol != "" { // the family is a label too
		exclude = append(exclude, o.FamilyCol)
	}
	for _, w := range o.Where {
		exclude = append(exclude, w.Col)
	}
	return &dataset.Replay{SequenceCol: o.SequenceCol, Exclude: exclude}
}

// snapshots returns the given rows of t as snapshots, every row for nil.
func snapshots(t *dataset.Table, rows []int, o Options) ([]*snapshot.Snapshot, error) {
	all, err := o.replay().Snapshots(t)
	if err != nil {
		return nil, err
	}
	if rows == nil {
		out := make([]*snapshot.Snapshot, len(all))
		for i := range all {
			out[i] = &all[i]
		}
		return out, nil
	}
	out := make([]*snapshot.Snapshot, len(rows))
	for i, r := range rows {
		out[i] = &all[r]
	}
	return out, nil
}

// config returns the pipeline's configuration of an evaluation: the
// service's, but for the detector, the seed and the sequence features that
// o names. The training rows are bounded as the service bounds a
// baseline's.
func (o Options) config() pipeline.Config {
	feats := pipeline.DefaultTraceFeatures()
	if o.Features != nil {
		feats = *o.Features
	}
	feats.Detector = o.Detector // eval scores with the detector it names
	return pipeline.Config{Detector: o.Detector, Seed: o.Seed, MaxRows: pipeline.DefaultMaxRows,
		Sequence: o.sequence(), Features: &feats}
}

// sequence returns the configuration of the sequence features:
// pipeline.DefaultSequence with the models, order, combination and neural
// models that o names.
func (o Options) sequence() *trace.SequenceConfig {
	c := pipeline.DefaultSequence()
	c.Neural, c.Recurrent, c.Combine = o.neural(), o.recurrent(), o.Combine
	if o.Models != nil {
		c.Models = o.Models
	}
	if o.Order > 0 {
		c.Order = o.Order
	}
	return &c
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
	if o.GRU != nil {
		c := *o.GRU
		return &c
	}
	return &trace.RecurrentConfig{}
}
