package api_test

import (
	"reflect"
	"slices"
	"testing"

	"imgward/monitor"
)

// TestListTrust checks GET /v1/trust, the trusted publishers the
// dashboard shows: an admin sees the list as PUT leaves it; a member is
// refused, and the refusal is audited.
func TestListTrust(t *testing.T) {
	e := newDetectEnv(t, monitor.Config{})
	a, b := e.tenant("a"), e.tenant("b")
	var got struct{ Trusted []string }
	e.do("GET", "/v1/trust", e.admin, nil, 200, &got)
	if got.Trusted == nil || len(got.Trusted) != 0 {
		t.Errorf("no trusted publishers: %#v, want an empty list", got.Trusted)
	}
	for _, step := range []struct {
		project string
		trusted bool
		want    []string
	}{
		{a.project, true, []string{a.project}},
		{b.project, true, sorted(a.project, b.project)},
		{a.project, false, []string{b.project}},
	} {
		e.do("PUT", "/v1/publishers/"+step.project+"/trust", e.admin, map[string]bool{"trusted": step.trusted}, 200, nil)
		e.do("GET", "/v1/trust", e.admin, nil, 200, &got)
		if !reflect.DeepEqual(sorted(got.Trusted...), step.want) {
			t.Errorf("after trusting %s=%v: %v, want %v", step.project, step.trusted, got.Trusted, step.want)
		}
	}
	e.do("GET", "/v1/trust", a.token, nil, 403, nil)
	var audit struct {
		Entries []struct{ Action, Result, Actor string }
	}
	e.do("GET", "/v1/audit?limit=1000", e.admin, nil, 200, &audit)
	denied := false
	for _, en := range audit.Entries {
		denied = denied || (en.Action == "publisher.trust.list" && en.Result == "denied" && en.Actor == a.user)
	}
	if !denied {
		t.Error("a member's refused read of the trusted publishers is not audited")
	}
}

func sorted(s ...string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
