package server

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"sync"
)

// Request bodies and response bodies pass through buffers reused across
// requests: a 100-document rerank body is ~60 KiB, and json.Decoder would
// otherwise grow a fresh buffer to it by doubling (~250 KiB allocated per
// request), and json.Marshal copy each answer once more before it is sent.

// maxPooledBuffer is the largest buffer kept for reuse: one huge request
// must not pin its memory for the life of the process.
const maxPooledBuffer = 4 << 20

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer { return buffers.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	buffers.Put(b)
}

// decodeBody decodes body, all of a request body as read (readErr being
// what ended the read when it failed), into dst exactly as json.Decoder
// reading the same stream would, refusing a JSON null and more than one
// value. The common case, one valid value, is a single json.Unmarshal over
// the bytes in hand; anything else is decoded again by decodeStream, so
// every error is the one the streaming decoder gives, in the same order.
func decodeBody(body []byte, readErr error, dst any) error {
	if readErr == nil && firstByte(body) != 'n' && json.Unmarshal(body, dst) == nil {
		return nil
	}
	var stream io.Reader = bytes.NewReader(body)
	if readErr != nil {
		stream = io.MultiReader(stream, failingReader{readErr})
	}
	// A fresh value: what the failed Unmarshal left in dst must not
	// change what the decoder reports.
	return decodeStream(bufio.NewReader(stream), reflect.New(reflect.TypeOf(dst).Elem()).Interface())
}

// firstByte is body's first byte after JSON whitespace, 0 if none.
func firstByte(body []byte) byte {
	for _, c := range body {
		switch c {
		case ' ', '\t', '\n', '\r':
		default:
			return c
		}
	}
	return 0
}

// failingReader fails every read with err: what ended the body's read.
type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// decodeStream reads one JSON object from body into dst.
func decodeStream(body *bufio.Reader, dst any) error {
	// A JSON null decodes into any struct as its zero value, which some
	// routes would take for a valid empty request (Ollama's preload).
	if first, ok := firstNonSpace(body); ok && first == 'n' {
		return invalidJSON("the body must be a JSON object, not null")
	}
	dec := json.NewDecoder(body)
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return invalidJSON("the body holds more than one JSON value; send a single object")
	}
	return nil
}

// encodeJSON is v as json.Marshal writes it and a newline, in a pooled
// buffer the caller gives back with putBuffer once it is written.
func encodeJSON(v any) (*bytes.Buffer, error) {
	buf := getBuffer()
	// Encoder escapes HTML as Marshal does and adds the newline itself.
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		putBuffer(buf)
		return nil, err
	}
	return buf, nil
}

// float32Bytes holds the little-endian bytes of a vector while it becomes
// base64: only the string survives.
var float32Bytes = sync.Pool{New: func() any { return new([]byte) }}

// encodeBase64 is OpenAI's base64 encoding_format: the float32s as
// little-endian bytes, base64 (standard alphabet, padded).
func encodeBase64(vec []float32) string {
	scratch := float32Bytes.Get().(*[]byte)
	defer float32Bytes.Put(scratch)
	buf := (*scratch)[:0]
	for _, x := range vec {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
	}
	// Encoded after the floats in the same scratch, so the string is the
	// one allocation (EncodeToString makes two).
	buf = base64.StdEncoding.AppendEncode(buf, buf)
	*scratch = buf
	return string(buf[4*len(vec):])
}

// elementName names element i of the request array param in error messages
// ("input[3]"), or param itself when i < 0. Formatting it only when an
// error is made keeps a per-element string off the success path.
type elementName struct {
	param string
	i     int
}

func (e elementName) String() string {
	if e.i < 0 {
		return e.param
	}
	return e.param + "[" + strconv.Itoa(e.i) + "]"
}
