package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// pk assembles a pickle by opcode, so tests read like pickletools.dis.
type pk []byte

func (p pk) op(b ...byte) pk { return append(p, b...) }

// str is BINUNICODE.
func (p pk) str(s string) pk {
	return append(binary.LittleEndian.AppendUint32(append(p, 'X'), uint32(len(s))), s...)
}

// int is the shortest of BININT1, BININT2, BININT and LONG1, as pickle
// picks (LONG1 is written at its full 8 bytes here).
func (p pk) int(n int64) pk {
	switch {
	case n >= 0 && n < 256:
		return append(p, 'K', byte(n))
	case n >= 0 && n < 65536:
		return binary.LittleEndian.AppendUint16(append(p, 'M'), uint16(n))
	case n != int64(int32(n)):
		return binary.LittleEndian.AppendUint64(append(p, 0x8a, 8), uint64(n))
	}
	return binary.LittleEndian.AppendUint32(append(p, 'J'), uint32(int32(n)))
}

func (p pk) global(module, name string) pk {
	return append(append(p, 'c'), module+"\n"+name+"\n"...)
}

// testFindClass knows one function, test.pair(a, b) → [a, b].
func testFindClass(module, name string) (any, error) {
	if module == "test" && name == "pair" {
		return pyCallable{"test.pair", func(args pyTuple) (any, error) {
			if len(args) != 2 {
				return nil, errors.New("want 2 arguments")
			}
			return &pyList{items: args}, nil
		}}, nil
	}
	return nil, fmt.Errorf("unknown global %s.%s", module, name)
}

func unpickleTest(data []byte) (any, error) {
	u := &unpickler{findClass: testFindClass, persistentLoad: func(pid any) (any, error) {
		return fmt.Sprintf("loaded %v", pid), nil
	}}
	return u.load(data)
}

func TestUnpickleValues(t *testing.T) {
	shared := &pyList{items: []any{int64(1)}}
	cases := []struct {
		name string
		p    pk
		want any
	}{
		{"BININT1", pk{}.op(0x80, 2).int(5), int64(5)},
		{"BININT2", pk{}.int(4660), int64(4660)},
		{"BININT negative", pk{}.int(-2), int64(-2)},
		{"LONG1 empty is 0", pk{}.op(0x8a, 0), int64(0)},
		{"LONG1 negative", pk{}.op(0x8a, 2, 0x00, 0x80), int64(-32768)},
		{"LONG1 8 bytes", pk{}.op(0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x40), int64(1) << 62},
		{"LONG4", pk{}.op(0x8b, 1, 0, 0, 0, 0xff), int64(-1)},
		{"BINFLOAT", pk{}.op('G', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0), 1.5},
		{"BINUNICODE", pk{}.str("héllo"), "héllo"},
		{"SHORT_BINUNICODE", pk{}.op(0x8c, 2, 'h', 'i'), "hi"},
		{"SHORT_BINBYTES", pk{}.op('C', 2, 0, 0xff), []byte{0, 0xff}},
		{"None, True, False", pk{}.op('N', 0x88, 0x89, 0x87), pyTuple{nil, true, false}},
		{"EMPTY_TUPLE", pk{}.op(')'), pyTuple{}},
		{"TUPLE1", pk{}.int(1).op(0x85), pyTuple{int64(1)}},
		{"TUPLE2", pk{}.int(1).int(2).op(0x86), pyTuple{int64(1), int64(2)}},
		{"MARK TUPLE", pk{}.int(9).op('(').int(1).int(2).int(3).int(4).op('t', 0x86), pyTuple{int64(9), pyTuple{int64(1), int64(2), int64(3), int64(4)}}},
		{"LIST APPEND APPENDS", pk{}.op('(').int(1).op('l').int(2).op('a', '(').int(3).int(4).op('e'), &pyList{items: []any{int64(1), int64(2), int64(3), int64(4)}}},
		{"DICT", pk{}.op('(').str("a").int(1).str("b").int(2).op('d'), &pyDict{keys: []any{"a", "b"}, values: []any{int64(1), int64(2)}, index: map[any]int{"a": 0, "b": 1}}},
		{"SETITEM SETITEMS overwrite", pk{}.op('}').str("a").int(1).op('s', '(').str("b").int(2).str("a").int(3).op('u'),
			&pyDict{keys: []any{"a", "b"}, values: []any{int64(3), int64(2)}, index: map[any]int{"a": 0, "b": 1}}},
		{"BINPUT BINGET share", pk{}.op(']', 'q', 7).int(1).op('a', 'h', 7, 0x86), pyTuple{shared, shared}},
		{"MEMOIZE LONG_BINGET", pk{}.str("x").op(0x94, '0', 'j', 0, 0, 0, 0), "x"},
		{"LONG_BINPUT", pk{}.str("y").op('r', 0, 1, 0, 0, '0', 'j', 0, 1, 0, 0), "y"},
		{"POP_MARK DUP", pk{}.int(7).op('(').int(1).int(2).op('1', '2', 0x86), pyTuple{int64(7), int64(7)}},
		{"GLOBAL REDUCE", pk{}.global("test", "pair").int(1).int(2).op(0x86, 'R'), &pyList{items: []any{int64(1), int64(2)}}},
		{"STACK_GLOBAL NEWOBJ", pk{}.str("test").str("pair").op(0x93).int(1).int(2).op(0x86, 0x81), &pyList{items: []any{int64(1), int64(2)}}},
		{"BINPERSID", pk{}.str("k").op(0x85, 'Q'), "loaded [k]"},
		{"FRAME", pk{}.op(0x80, 4, 0x95, 3, 0, 0, 0, 0, 0, 0, 0).int(1), int64(1)},
		{"BUILD on dict", pk{}.op('}', '}', 'b'), &pyDict{}},
	}
	for _, c := range cases {
		got, err := unpickleTest(c.p.op('.'))
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %#v, %v; want %#v", c.name, got, err, c.want)
		}
	}
}

func TestUnpickleRejects(t *testing.T) {
	cases := []struct {
		name string
		p    pk
		want string
	}{
		{"empty", pk{}, "truncated"},
		{"no STOP", pk{}.int(1), "truncated"},
		{"protocol 0 INT", pk{}.op('I', '1', '\n', '.'), "unsupported opcode"},
		{"unknown opcode", pk{}.op(0xff), "0xff at offset 0: unsupported"},
		{"protocol 6", pk{}.op(0x80, 6), "protocol 6"},
		{"STOP on empty stack", pk{}.op('.'), "underflow"},
		{"POP on empty stack", pk{}.op('0'), "underflow"},
		{"TUPLE without MARK", pk{}.int(1).op('t'), "no MARK"},
		{"TUPLE2 across a MARK", pk{}.int(1).op('(').int(2).op(0x86), "underflow"},
		{"STOP inside a MARK", pk{}.int(1).op('(', '.'), "underflow"},
		{"LONG1 too long", pk{}.op(0x8a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9), "int64"},
		{"string past the end", pk{}.op('X', 0xff, 0xff, 0xff, 0x7f, 'a'), "truncated"},
		{"BINUNICODE8 huge", pk{}.op(0x8d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), "truncated"},
		{"invalid UTF-8", pk{}.op(0x8c, 1, 0xff), "UTF-8"},
		{"BINGET never stored", pk{}.op('h', 3), "never stored"},
		{"BINPUT on empty stack", pk{}.op('q', 0), "underflow"},
		{"unknown global", pk{}.global("os", "system"), "unknown global os.system"},
		{"GLOBAL without newline", pk{}.op('c').op([]byte("os")...), "truncated"},
		{"STACK_GLOBAL of ints", pk{}.int(1).int(2).op(0x93), "want strings"},
		{"REDUCE a string", pk{}.str("f").op(')', 'R'), "cannot call string"},
		{"REDUCE with a list", pk{}.global("test", "pair").op(']', 'R'), "not a tuple"},
		{"callable error", pk{}.global("test", "pair").op(')', 'R'), "test.pair: want 2"},
		{"APPEND to a dict", pk{}.op('}').int(1).op('a'), "APPEND to *checkpoint.pyDict"},
		{"SETITEM on a list", pk{}.op(']').int(1).int(2).op('s'), "SETITEM on *checkpoint.pyList"},
		{"SETITEMS odd", pk{}.op('}', '(').int(1).op('u'), "odd"},
		{"tuple key", pk{}.op('}', ')').int(1).op('s'), "unhashable"},
		{"BUILD on int", pk{}.int(1).op('}', 'b'), "BUILD on int64"},
	}
	for _, c := range cases {
		_, err := unpickleTest(c.p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

// FuzzUnpickle checks that no input makes the unpickler panic or hang.
func FuzzUnpickle(f *testing.F) {
	f.Add([]byte(pk{}.op(0x80, 2, '}', '(').str("a").global("test", "pair").int(1).op(']', 0x86, 'R', 'u', '.')))
	f.Add([]byte(pk{}.op('(').int(1).op('l', 'q', 0, 'h', 0, 'a', '.')))
	f.Fuzz(func(t *testing.T, data []byte) {
		unpickleTest(data)
	})
}
