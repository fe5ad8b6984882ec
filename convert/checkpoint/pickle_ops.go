package checkpoint

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// integer reads BININT (signed 32-bit), BININT1 and BININT2 (unsigned), and
// LONG1 and LONG4, which torch.save uses for values past 2^31.
func (u *unpickler) integer(op byte) error {
	var v int64
	switch op {
	case 'J':
		b, err := u.uint(4)
		if err != nil {
			return err
		}
		v = int64(int32(b))
	case 'K', 'M':
		b, err := u.uint(map[byte]int{'K': 1, 'M': 2}[op])
		if err != nil {
			return err
		}
		v = int64(b)
	default: // LONG1, LONG4: a length, then two's complement little-endian
		n, err := u.uint(map[byte]int{0x8a: 1, 0x8b: 4}[op])
		if err != nil {
			return err
		}
		if n > 8 {
			return fmt.Errorf("%d-byte integer does not fit in int64", n)
		}
		b, err := u.uint(int(n))
		if err != nil {
			return err
		}
		v = int64(b)
		if n > 0 && n < 8 && b&(1<<(8*n-1)) != 0 {
			v -= 1 << (8 * n) // sign-extend
		}
	}
	u.push(v)
	return nil
}

// text reads str opcodes (BINUNICODE, SHORT_BINUNICODE, BINUNICODE8, and
// protocol 1's BINSTRING and SHORT_BINSTRING) and bytes opcodes (BINBYTES,
// SHORT_BINBYTES, BINBYTES8).
func (u *unpickler) text(op byte) error {
	lenBytes := map[byte]int{'X': 4, 0x8c: 1, 0x8d: 8, 'T': 4, 'U': 1, 'B': 4, 'C': 1, 0x8e: 8}[op]
	n, err := u.uint(lenBytes)
	if err != nil {
		return err
	}
	b, err := u.bytes(n)
	if err != nil {
		return err
	}
	if op == 'B' || op == 'C' || op == 0x8e {
		u.push(append([]byte{}, b...))
		return nil
	}
	if !utf8.Valid(b) {
		return errors.New("string is not valid UTF-8")
	}
	u.push(string(b))
	return nil
}

func (u *unpickler) tupleN(n int) error {
	if len(u.stack) < n || (len(u.marks) > 0 && u.marks[len(u.marks)-1] > len(u.stack)-n) {
		return errors.New("stack underflow")
	}
	t := append(pyTuple{}, u.stack[len(u.stack)-n:]...)
	u.stack = u.stack[:len(u.stack)-n]
	u.push(t)
	return nil
}

func (u *unpickler) appends(many bool) error {
	var items []any
	var err error
	if many {
		items, err = u.popMark()
	} else {
		var v any
		v, err = u.pop()
		items = []any{v}
	}
	if err != nil {
		return err
	}
	top, err := u.top()
	if err != nil {
		return err
	}
	l, ok := top.(*pyList)
	if !ok {
		return fmt.Errorf("APPEND to %T", top)
	}
	l.items = append(l.items, items...)
	return nil
}

// setItems pops key/value pairs (all above the mark when many, else one)
// into the dict below them.
func (u *unpickler) setItems(many bool) error {
	var items []any
	var err error
	if many {
		items, err = u.popMark()
	} else {
		v, err1 := u.pop()
		k, err2 := u.pop()
		items, err = []any{k, v}, errors.Join(err1, err2)
	}
	if err != nil {
		return err
	}
	top, err := u.top()
	if err != nil {
		return err
	}
	d, ok := top.(*pyDict)
	if !ok {
		return fmt.Errorf("SETITEM on %T", top)
	}
	return d.setPairs(items)
}

func (d *pyDict) setPairs(items []any) error {
	if len(items)%2 != 0 {
		return errors.New("odd number of items for a dict")
	}
	for i := 0; i < len(items); i += 2 {
		if !hashable(items[i]) {
			return fmt.Errorf("unhashable dict key %T", items[i])
		}
		d.set(items[i], items[i+1])
	}
	return nil
}

// hashable reports whether k can be a dict key here: Go's == on it must not
// panic, as it would on a tuple.
func hashable(k any) bool {
	switch k.(type) {
	case nil, bool, int64, float64, string:
		return true
	}
	return false
}

// put memoizes the top of the stack for later BINGETs.
func (u *unpickler) put(op byte) error {
	var key uint64
	var err error
	switch op {
	case 'q':
		key, err = u.uint(1)
	case 'r':
		key, err = u.uint(4)
	default: // MEMOIZE numbers entries in order
		key = uint64(len(u.memo))
	}
	if err != nil {
		return err
	}
	v, err := u.top()
	if err != nil {
		return err
	}
	u.memo[key] = v
	return nil
}

func (u *unpickler) get(long bool) error {
	n := 1
	if long {
		n = 4
	}
	key, err := u.uint(n)
	if err != nil {
		return err
	}
	v, ok := u.memo[key]
	if !ok {
		return fmt.Errorf("memo key %d was never stored", key)
	}
	u.push(v)
	return nil
}

// global resolves "module name" through findClass, which refuses every name
// it does not know: this is what keeps unpickling from running code.
func (u *unpickler) global(fromStack bool) error {
	var module, name string
	if fromStack {
		n, err1 := u.pop()
		m, err2 := u.pop()
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		var ok1, ok2 bool
		module, ok1 = m.(string)
		name, ok2 = n.(string)
		if !ok1 || !ok2 {
			return fmt.Errorf("STACK_GLOBAL of %T and %T, want strings", m, n)
		}
	} else {
		var err error
		if module, err = u.line(); err == nil {
			name, err = u.line()
		}
		if err != nil {
			return err
		}
	}
	v, err := u.findClass(module, name)
	if err != nil {
		return err
	}
	u.push(v)
	return nil
}

// line reads a newline-terminated GLOBAL argument.
func (u *unpickler) line() (string, error) {
	for i := u.pos; i < len(u.data); i++ {
		if u.data[i] == '\n' {
			s := string(u.data[u.pos:i])
			u.pos = i + 1
			return s, nil
		}
	}
	return "", errPickleTruncated
}

func (u *unpickler) reduce() error {
	a, err1 := u.pop()
	f, err2 := u.pop()
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	fn, ok := f.(pyCallable)
	if !ok {
		return fmt.Errorf("cannot call %T", f)
	}
	args, ok := a.(pyTuple)
	if !ok {
		return fmt.Errorf("%s: arguments are %T, not a tuple", fn.name, a)
	}
	v, err := fn.call(args)
	if err != nil {
		return fmt.Errorf("%s: %w", fn.name, err)
	}
	u.push(v)
	return nil
}

// build would set an object's attributes. The only objects torch.save gives
// state to are OrderedDicts (a state dict's _metadata, the version of each
// module's parameters), which a reader does not need; anything else is
// refused rather than silently left half-built.
func (u *unpickler) build() error {
	if _, err := u.pop(); err != nil {
		return err
	}
	obj, err := u.top()
	if err != nil {
		return err
	}
	if _, ok := obj.(*pyDict); !ok {
		return fmt.Errorf("BUILD on %T is not supported", obj)
	}
	return nil
}
