package pipeline

import (
	"slices"

	"imgward/fleet"
)

// surpriseParam is the parameter of a Fold that carries an instance's
// surprise; uncappedParam its surprise without the cap (PutUncapped).
const (
	surpriseParam = "surprise"
	uncappedParam = "uncapped"
)

// bothParams name the values of PutUncapped.
var bothParams = []string{surpriseParam, uncappedParam}

// Fold folds scored instances' surprises into their image's and their
// publisher's state (package fleet): by default the weighted mean, which
// for benign instances is Gamma(n, 1)/n (Fisher's method) and so is judged
// against Threshold. It is safe for concurrent use.
type Fold struct{ f *fleet.Fleet }

// NewFold returns an empty Fold. param is how a group folds its
// instances' surprise: the zero Param is the service's weighted mean, the
// statistic that Group.Judge is for; imgward eval may compare others.
func NewFold(param fleet.Param) *Fold {
	return &Fold{fleet.New(fleet.Config{Params: map[string]fleet.Param{surpriseParam: param}})}
}

// Put records an instance's surprise, replacing its previous one.
func (a *Fold) Put(m fleet.Member, surprise float64) error {
	return a.f.PutValues(m, []string{surpriseParam}, []float64{surprise})
}

// PutUncapped is Put with the instance's surprise uncapped too
// (Scorer.Uncapped), which Group.Uncapped folds by weighted mean.
func (a *Fold) PutUncapped(m fleet.Member, surprise, uncapped float64) error {
	return a.f.PutValues(m, bothParams, []float64{surprise, uncapped})
}

// Group is the fold of the instances of one image or publisher.
type Group struct {
	ID        string
	Instances int
	Surprise  float64 // the instances' folded surprise
	Uncapped  float64 // their mean uncapped surprise, if put (PutUncapped)
}

// Judge returns the threshold of a group of benign instances at the
// false-flag rate alpha (Threshold) and whether the group's surprise is
// over it.
func (g Group) Judge(alpha float64) (threshold float64, flagged bool) {
	threshold = Threshold(g.Instances, alpha)
	return threshold, g.Surprise > threshold
}

// Images returns the fold of every image, by id.
func (a *Fold) Images() []Group { return a.groups(a.f.Images(), a.f.Image) }

// Publishers returns the fold of every publisher, by id.
func (a *Fold) Publishers() []Group { return a.groups(a.f.Publishers(), a.f.Publisher) }

// Publisher returns the fold of one publisher, and whether it has any
// instance.
func (a *Fold) Publisher(id string) (Group, bool) {
	st, ok := a.f.Publisher(id)
	return group(st), ok
}

func (a *Fold) groups(ids []string, state func(string) (fleet.State, bool)) []Group {
	slices.Sort(ids)
	out := make([]Group, 0, len(ids))
	for _, id := range ids {
		if st, ok := state(id); ok {
			out = append(out, group(st))
		}
	}
	return out
}

func group(st fleet.State) Group {
	g := Group{ID: st.ID, Instances: st.Instances}
	for _, v := range st.Numeric {
		switch v.Name {
		case surpriseParam:
			g.Surprise = v.Value
		case uncappedParam:
			g.Uncapped = v.Value
		}
	}
	return g
}
