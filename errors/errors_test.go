package errors

import (
	stderrors "errors"
	"io"
	"testing"
)

func TestE(t *testing.T) {
	inner := E("store.Image", NotExist, Msg("no such image"))
	tests := []struct {
		name string
		err  error
		kind Kind
		msg  string
		text string
	}{
		{"plain", E("op", Invalid, io.EOF), Invalid, "", "op: invalid: EOF"},
		{"message", E("op", Permission, Msg("not yours")), Permission, "not yours", "op: not yours"},
		{"inherits kind", E("catalog.Image", inner), NotExist, "no such image", "catalog.Image: store.Image: no such image"},
		{"kind not repeated", E("outer", E("inner", Invalid, io.EOF)), Invalid, "", "outer: inner: invalid: EOF"},
		{"outer kind wins", E("outer", Conflict, inner), Conflict, "no such image", "outer: conflict: store.Image: no such image"},
		{"foreign error", io.EOF, Other, "", "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.err); got != tt.kind {
				t.Errorf("KindOf = %v, want %v", got, tt.kind)
			}
			if got := Message(tt.err); got != tt.msg {
				t.Errorf("Message = %q, want %q", got, tt.msg)
			}
			if got := tt.err.Error(); got != tt.text {
				t.Errorf("Error = %q, want %q", got, tt.text)
			}
		})
	}
	if !stderrors.Is(E("op", Invalid, io.EOF), io.EOF) {
		t.Error("errors.Is does not see through E")
	}
}

func TestWrap(t *testing.T) {
	if err := Wrap("op", nil); err != nil {
		t.Errorf("Wrap(nil) = %v, want nil", err)
	}
	inner := E(Permission, Msg("no"))
	err := Wrap("op", inner)
	var e *Error
	if !As(err, &e) || e.Op != "op" || !IsErr(err, inner) || KindOf(err) != Permission {
		t.Errorf("Wrap = %#v, want op around the error, keeping its kind", err)
	}
}
