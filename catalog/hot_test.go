package catalog_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"imgward"
	"imgward/blob"
	"imgward/catalog"
	"imgward/errors"
	"imgward/store/postgres"
	"imgward/store/storetest"
)

// sightStore counts, while armed, the instances of one image inside each
// Update that commits, in the same transaction: what the rule-changing
// Update saw committed before it. Hot writes pass through to the store's
// own UpdateHot.
type sightStore struct {
	imgward.Store
	image imgward.ImageID
	armed atomic.Bool
	seen  atomic.Int64
}

func (s *sightStore) Update(ctx context.Context, fn func(imgward.Tx) error) error {
	return s.Store.Update(ctx, func(tx imgward.Tx) error {
		if err := fn(tx); err != nil || !s.armed.Load() {
			return err
		}
		ins, err := tx.ListInstances(ctx, imgward.InstanceFilter{ImageID: s.image})
		s.seen.Store(int64(len(ins)))
		return err
	})
}

func (s *sightStore) UpdateHot(ctx context.Context, fn func(imgward.Tx) error) error {
	return imgward.UpdateHot(ctx, s.Store, fn)
}

// TestLaunchRacesMemberRemoval launches a shared image as its member on two
// nodes while the owner removes the member on a third, all on one
// PostgreSQL: no launch may commit after the removal, however the hot
// launches and the removal interleave.
func TestLaunchRacesMemberRemoval(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.PostgresDSN(t)
	blobs, err := blob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	nodes := make([]*catalog.Service, 3)
	stores := make([]*sightStore, 3)
	for i := range nodes {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores[i] = &sightStore{Store: st}
		nodes[i] = catalog.New(stores[i], blobs)
	}
	token, err := nodes[0].Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := nodes[0].Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	principal := func(name string) imgward.Principal {
		p, err := nodes[0].CreateProject(ctx, admin, name)
		if err != nil {
			t.Fatal(err)
		}
		_, tok, err := nodes[0].CreateUser(ctx, admin, name, p.ID, imgward.RoleMember, nil)
		if err != nil {
			t.Fatal(err)
		}
		pr, err := nodes[0].Authenticate(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		return pr
	}
	owner, member := principal("owner"), principal("member")
	img, err := nodes[0].CreateImage(ctx, owner, map[string]any{"name": "x", "disk_format": "raw",
		"container_format": "bare", "visibility": "shared"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[0].Upload(ctx, owner, img.ID, strings.NewReader("disk")); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[0].AddMember(ctx, owner, img.ID, member.ProjectID); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[1].UpdateMember(ctx, member, img.ID, member.ProjectID, imgward.MemberAccepted); err != nil {
		t.Fatal(err)
	}
	stores[0].image = img.ID

	var launched, refused atomic.Int64
	removed := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		node := nodes[1+g%2]
		wg.Go(func() {
			for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
				_, err := node.Launch(ctx, member, img.ID, "hv-1")
				switch {
				case err == nil:
					launched.Add(1)
				case errors.Is(errors.NotExist, err) || errors.Is(errors.Permission, err):
					refused.Add(1)
					select {
					case <-removed:
						return
					default:
					}
				default:
					t.Errorf("Launch: %v", err)
					return
				}
			}
			t.Errorf("launches still succeed a minute after the removal")
		})
	}
	for deadline := time.Now().Add(time.Minute); launched.Load() < 8 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	stores[0].armed.Store(true)
	if err := nodes[0].RemoveMember(ctx, owner, img.ID, member.ProjectID); err != nil {
		t.Fatal(err)
	}
	stores[0].armed.Store(false)
	close(removed)
	wg.Wait()
	ins, err := nodes[2].Instances(ctx, admin, imgward.InstanceFilter{ImageID: img.ID})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d launches, %d refused", launched.Load(), refused.Load())
	if seen := stores[0].seen.Load(); int64(len(ins)) != seen || int64(len(ins)) != launched.Load() {
		t.Errorf("the removal saw %d instances committed; there are %d, %d launches succeeded", seen, len(ins), launched.Load())
	}
}
