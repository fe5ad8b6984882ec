package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Python values as the unpickler builds them: None is nil, int is int64,
// float is float64, str is string, bytes is []byte, bool is bool.
type (
	pyTuple []any
	pyList  struct{ items []any }
	// pyDict keeps insertion order, as Python dicts do; index finds a
	// key's place, so a pickle of n items costs O(n), not O(n²).
	pyDict struct {
		keys, values []any
		index        map[any]int
	}
	// pyCallable is a function a pickle may call through REDUCE or NEWOBJ:
	// only those findClass hands out exist.
	pyCallable struct {
		name string
		call func(args pyTuple) (any, error)
	}
)

// set stores v under k, which must be hashable (setPairs checks).
func (d *pyDict) set(k, v any) {
	if i, ok := d.index[k]; ok {
		d.values[i] = v
		return
	}
	if d.index == nil {
		d.index = map[any]int{}
	}
	d.index[k] = len(d.keys)
	d.keys, d.values = append(d.keys, k), append(d.values, v)
}

// unpickler interprets the subset of pickle (protocols 2 to 5) that
// torch.save writes. Nothing it reads can run code: GLOBAL resolves names
// only through findClass, and BINPERSID only through persistentLoad.
type unpickler struct {
	findClass      func(module, name string) (any, error)
	persistentLoad func(pid any) (any, error)

	data  []byte
	pos   int
	stack []any
	marks []int
	memo  map[uint64]any
}

// errPickleTruncated is returned when an opcode's argument runs past the end.
var errPickleTruncated = errors.New("pickle truncated")

func (u *unpickler) load(data []byte) (result any, err error) {
	u.data, u.pos, u.stack, u.marks, u.memo = data, 0, nil, nil, map[uint64]any{}
	for {
		at := u.pos
		op, err := u.bytes(1)
		if err != nil {
			return nil, err
		}
		done, err := u.step(op[0])
		if err != nil {
			return nil, fmt.Errorf("pickle opcode 0x%02x at offset %d: %w", op[0], at, err)
		}
		if done {
			return u.pop()
		}
	}
}

// step executes one opcode; see Python's Lib/pickletools.py for their
// definitions.
func (u *unpickler) step(op byte) (stop bool, err error) {
	switch op {
	case 0x80: // PROTO
		v, err := u.uint(1)
		if err == nil && v > 5 {
			err = fmt.Errorf("pickle protocol %d is newer than 5", v)
		}
		return false, err
	case 0x95: // FRAME: a length hint for buffered readers
		_, err = u.bytes(8)
	case '.': // STOP
		return true, nil
	case '(': // MARK
		u.marks = append(u.marks, len(u.stack))
	case '0': // POP
		_, err = u.pop()
	case '1': // POP_MARK
		_, err = u.popMark()
	case '2': // DUP
		var v any
		if v, err = u.top(); err == nil {
			u.push(v)
		}
	case 'N':
		u.push(nil)
	case 0x88, 0x89: // NEWTRUE, NEWFALSE
		u.push(op == 0x88)
	case 'J', 'K', 'M', 0x8a, 0x8b: // BININT, BININT1, BININT2, LONG1, LONG4
		err = u.integer(op)
	case 'G': // BINFLOAT, big-endian
		var b []byte
		if b, err = u.bytes(8); err == nil {
			u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
		}
	case 'X', 0x8c, 0x8d, 'T', 'U', 'B', 'C', 0x8e: // str and bytes
		err = u.text(op)
	case ')': // EMPTY_TUPLE
		u.push(pyTuple{})
	case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
		err = u.tupleN(int(op - 0x84))
	case 't': // TUPLE
		var items []any
		if items, err = u.popMark(); err == nil {
			u.push(pyTuple(items))
		}
	case ']': // EMPTY_LIST
		u.push(&pyList{})
	case 'l': // LIST
		var items []any
		if items, err = u.popMark(); err == nil {
			u.push(&pyList{items: items})
		}
	case 'a', 'e': // APPEND, APPENDS
		err = u.appends(op == 'e')
	case '}': // EMPTY_DICT
		u.push(&pyDict{})
	case 'd': // DICT
		var items []any
		if items, err = u.popMark(); err == nil {
			d := &pyDict{}
			u.push(d)
			err = d.setPairs(items)
		}
	case 's', 'u': // SETITEM, SETITEMS
		err = u.setItems(op == 'u')
	case 'q', 'r', 0x94: // BINPUT, LONG_BINPUT, MEMOIZE
		err = u.put(op)
	case 'h', 'j': // BINGET, LONG_BINGET
		err = u.get(op == 'j')
	case 'c', 0x93: // GLOBAL, STACK_GLOBAL
		err = u.global(op == 0x93)
	case 'R', 0x81: // REDUCE, NEWOBJ: both call fn(*args) here
		err = u.reduce()
	case 'b': // BUILD
		err = u.build()
	case 'Q': // BINPERSID
		var pid, v any
		if pid, err = u.pop(); err == nil {
			if v, err = u.persistentLoad(pid); err == nil {
				u.push(v)
			}
		}
	default:
		err = errors.New("unsupported opcode")
	}
	return false, err
}

func (u *unpickler) bytes(n uint64) ([]byte, error) {
	if n > uint64(len(u.data)-u.pos) {
		return nil, errPickleTruncated
	}
	b := u.data[u.pos : u.pos+int(n)]
	u.pos += int(n)
	return b, nil
}

// uint reads an n-byte little-endian unsigned argument.
func (u *unpickler) uint(n int) (uint64, error) {
	b, err := u.bytes(uint64(n))
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && u.marks[len(u.marks)-1] == len(u.stack)) {
		return nil, errors.New("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

func (u *unpickler) pop() (any, error) {
	v, err := u.top()
	if err == nil {
		u.stack = u.stack[:len(u.stack)-1]
	}
	return v, err
}

// popMark removes and returns everything above the most recent MARK.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errors.New("no MARK")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any{}, u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}
