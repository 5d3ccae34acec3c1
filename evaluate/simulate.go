package evaluate

import (
	"context"
	"fmt"
	"math/rand/v2"

	"imgward/detect/pipeline"
	"imgward/errors"
	"imgward/fleet"
)

// simulate deals the test rows into the fleets that spec describes and
// returns the publisher-level metrics averaged over spec.Repeat repeats.
// surprise and anomaly describe the test rows; param is how a publisher's
// state folds its instances' surprise (pipeline.Fold), the zero Param
// being the service's mean.
func simulate(ctx context.Context, spec FleetSpec, surprise []float64, anomaly []bool, param fleet.Param) (Metrics, error) {
	var normal, bad []int
	for i, a := range anomaly {
		if a {
			bad = append(bad, i)
		} else {
			normal = append(normal, i)
		}
	}
	if len(normal) == 0 || (len(bad) == 0 && spec.Infected > 0) {
		return Metrics{}, errors.E("eval", errors.Invalid, errors.New("--fleet needs normal and anomalous test rows"))
	}
	var sum Metrics
	for r := range spec.Repeat {
		if err := ctx.Err(); err != nil {
			return Metrics{}, err
		}
		m, err := simulateOnce(spec, uint64(r), surprise, normal, bad, param)
		if err != nil {
			return Metrics{}, err
		}
		sum.AUC += m.AUC
		sum.TPR += m.TPR
	}
	n := float64(spec.Repeat)
	return Metrics{AUC: sum.AUC / n, TPR: sum.TPR / n}, nil
}

// simulateOnce runs repeat r.
func simulateOnce(spec FleetSpec, r uint64, surprise []float64, normal, bad []int, param fleet.Param) (Metrics, error) {
	rng := rand.New(rand.NewPCG(spec.Seed, r))
	normals, bads := newDeck(normal, rng), newDeck(bad, rng)
	malicious := make([]bool, spec.Publishers)
	for _, p := range rng.Perm(spec.Publishers)[:spec.Malicious] {
		malicious[p] = true
	}
	f := pipeline.NewFold(param)
	for p := range spec.Publishers {
		for i := range spec.Images {
			for k := range spec.Instances {
				var row int
				if malicious[p] && rng.Float64() < spec.Infected {
					row = bads.draw()
				} else {
					row = normals.draw()
				}
				err := f.Put(fleet.Member{
					Instance:  fmt.Sprintf("p%d/i%d/k%d", p, i, k),
					Image:     fmt.Sprintf("p%d/i%d", p, i),
					Publisher: fmt.Sprintf("p%d", p),
				}, surprise[row])
				if err != nil {
					return Metrics{}, err
				}
			}
		}
	}
	scores := make([]float64, spec.Publishers)
	for p := range scores {
		g, ok := f.Publisher(fmt.Sprintf("p%d", p))
		if !ok {
			return Metrics{}, errors.E("eval", errors.Internal, errors.Errorf("publisher p%d has no state", p))
		}
		scores[p] = g.Surprise
	}
	return metrics(scores, malicious)
}

// deck deals row indices without replacement, reshuffling when it runs
// out, so that every row is used before any is used twice.
type deck struct {
	rows []int
	next int
	rng  *rand.Rand
}

func newDeck(rows []int, rng *rand.Rand) *deck {
	d := &deck{rows: append([]int(nil), rows...), rng: rng}
	d.shuffle()
	return d
}

func (d *deck) shuffle() {
	d.rng.Shuffle(len(d.rows), func(i, j int) { d.rows[i], d.rows[j] = d.rows[j], d.rows[i] })
	d.next = 0
}

func (d *deck) draw() int {
	if d.next == len(d.rows) {
		d.shuffle()
	}
	d.next++
	return d.rows[d.next-1]
}
