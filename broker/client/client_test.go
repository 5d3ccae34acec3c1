package client_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"imgward/broker/brokertest"
	"imgward/broker/client"
	"imgward/errors"
)

func TestRelease(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	fake := brokertest.New()
	fake.AddImage("img-1", key)
	fake.Bind("tok-bob", "img-1")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ctx := context.Background()

	got, err := client.Release(ctx, srv.URL, "tok-bob\n", "img-1")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, key) {
		t.Fatal("released key differs")
	}
	for _, tc := range []struct{ name, tok, img string }{
		{"unbound identity", "tok-carol", "img-1"},
		{"other image", "tok-bob", "img-2"},
	} {
		_, err := client.Release(ctx, srv.URL, tc.tok, tc.img)
		if !errors.Is(errors.Permission, err) {
			t.Errorf("%s: err = %v, want permission denied", tc.name, err)
		}
	}
	fake.Unbind("tok-bob", "img-1")
	if _, err := client.Release(ctx, srv.URL, "tok-bob", "img-1"); !errors.Is(errors.Permission, err) {
		t.Errorf("after unbind: err = %v", err)
	}
	if n := fake.Releases(); n != 1 {
		t.Errorf("releases = %d, want 1", n)
	}
}

func TestReleaseBadAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		kind   errors.Kind
	}{
		{"server error", 503, `{"error":{"code":503,"title":"Service Unavailable","message":"kms down"}}`, errors.Unavailable},
		{"unauthenticated", 401, `{"error":{"code":401,"title":"Unauthorized","message":"bad signature"}}`, errors.Unauthenticated},
		{"not json", 200, `<html>`, errors.Invalid},
		{"not a JWE", 200, `{"key":"a.b.c"}`, errors.Invalid},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			w.Write([]byte(tc.body))
		}))
		_, err := client.Release(context.Background(), srv.URL, "tok", "img")
		srv.Close()
		if !errors.Is(tc.kind, err) {
			t.Errorf("%s: err = %v, want kind %v", tc.name, err, tc.kind)
		}
	}
	if _, err := client.Release(context.Background(), "http://127.0.0.1:1", "tok", "img"); !errors.Is(errors.Unavailable, err) {
		t.Errorf("unreachable: err = %v", err)
	}
}
