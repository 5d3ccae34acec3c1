package kernel

import (
	"strings"

	"imgward/errors"

	"github.com/cilium/ebpf/btf"
)

// Offset is the byte offset of member field in struct or union typ, from
// the kernel's BTF. field may be a dotted path through nested members, and
// a name is also looked for in anonymous structs and unions, as C allows:
// Offset("sock", "__sk_common.skc_dport"). A missing type or member is an
// error of kind NotExist that names it; a bit-field, Invalid.
func (b *Build) Offset(typ, field string) (uint64, error) {
	const op = "kernel.Offset"
	b.mu.Lock()
	defer b.mu.Unlock()
	t, err := b.composite(typ)
	if err != nil {
		return 0, errors.E(op, err)
	}
	var off uint64
	parts := strings.Split(field, ".")
	for i, part := range parts {
		if t == nil {
			return 0, errors.E(op, errors.Invalid, errors.Msg(typ+"."+strings.Join(parts[:i], ".")+" is not a struct or union"))
		}
		m, moff, ok := member(t, part)
		if !ok {
			return 0, errors.E(op, errors.NotExist, errors.Msg("the kernel's "+typ+" has no member "+strings.Join(parts[:i+1], ".")))
		}
		if m.BitfieldSize != 0 || moff%8 != 0 {
			return 0, errors.E(op, errors.Invalid, errors.Msg(typ+"."+field+" is a bit-field"))
		}
		off += uint64(moff / 8)
		t = compositeOf(m.Type)
	}
	return off, nil
}

// Size is the size in bytes of the type named typ: a struct, union,
// typedef or base type.
func (b *Build) Size(typ string) (uint64, error) {
	const op = "kernel.Size"
	b.mu.Lock()
	defer b.mu.Unlock()
	types, err := b.spec.AnyTypesByName(typ)
	if err != nil || len(types) == 0 {
		return 0, errors.E(op, errors.NotExist, errors.Msg("the kernel has no type "+typ))
	}
	// Prefer the definition to a forward declaration.
	for _, t := range types {
		if _, fwd := t.(*btf.Fwd); fwd {
			continue
		}
		n, err := btf.Sizeof(t)
		if err != nil {
			return 0, errors.E(op, errors.Invalid, errors.Msg("the kernel's type "+typ+" has no size"), err)
		}
		return uint64(n), nil
	}
	return 0, errors.E(op, errors.NotExist, errors.Msg("the kernel only declares "+typ))
}

// composite returns the struct or union named typ (or a typedef of one).
func (b *Build) composite(typ string) (btf.Type, error) {
	types, err := b.spec.AnyTypesByName(typ)
	if err == nil {
		for _, t := range types {
			if c := compositeOf(t); c != nil {
				return c, nil
			}
		}
	}
	return nil, errors.E(errors.NotExist, errors.Msg("the kernel has no struct or union "+typ))
}

// compositeOf is t's struct or union, past typedefs and qualifiers, or nil.
func compositeOf(t btf.Type) btf.Type {
	switch u := btf.UnderlyingType(t).(type) {
	case *btf.Struct, *btf.Union:
		return u
	}
	return nil
}

func members(t btf.Type) []btf.Member {
	switch t := t.(type) {
	case *btf.Struct:
		return t.Members
	case *btf.Union:
		return t.Members
	}
	return nil
}

// member finds name among t's members, in anonymous members too, and
// returns its offset in bits from t's start.
func member(t btf.Type, name string) (btf.Member, btf.Bits, bool) {
	for _, m := range members(t) {
		if m.Name == name {
			return m, m.Offset, true
		}
		if m.Name == "" {
			if c := compositeOf(m.Type); c != nil {
				if found, off, ok := member(c, name); ok {
					return found, m.Offset + off, true
				}
			}
		}
	}
	return btf.Member{}, 0, false
}
