package server

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/rerank-api/rerank-api/api"
)

// schemaObject is one OpenAPI 3.0 Schema Object, as JSON.
type schemaObject map[string]any

// schemaBuilder derives OpenAPI schemas from the wire types in api/ by
// reflection, so the document cannot drift from what the handlers decode
// and encode: a field added to a wire struct appears in it. Every named
// struct becomes one entry of components.schemas, referenced by $ref.
type schemaBuilder struct {
	components map[string]schemaObject
}

func newSchemaBuilder() *schemaBuilder {
	return &schemaBuilder{components: map[string]schemaObject{}}
}

// polymorphic are the schemas of fields whose Go type cannot say what they
// hold: json.RawMessage and any, which the handlers take apart by hand (a
// string or a list of them, ids or texts). Keyed "Type.json_name".
// An entry is a schema, or alternatives: wire types, one of which it holds.
var polymorphic = map[string]any{
	"OpenAIEmbeddingRequest.input": embedInputs,
	"TEIEmbedRequest.inputs":       embedInputs,
	"TEIEmbedAllRequest.inputs":    embedInputs,
	"TEIEmbedSparseRequest.inputs": embedInputs,
	"TEITokenizeRequest.inputs":    oneOf(stringSchema, arrayOf(stringSchema)),
	"TEIDecodeRequest.ids":         oneOf(arrayOf(integerSchema), arrayOf(arrayOf(integerSchema))),
	"OpenAIEmbedding.embedding": oneOf(arrayOf(numberSchema),
		schemaObject{"type": "string", "description": "base64 of the little-endian float32s (encoding_format base64)"}),
	"CohereRerankRequest.documents": arrayOf(oneOf(stringSchema,
		schemaObject{"type": "object", "additionalProperties": true, "description": `{"text": ...}, or fields chosen by rank_fields`})),
	"CohereRerankResult.document":       anyObject,
	"CohereEmbedContent.image_url":      anyObject,
	"CohereEmbedResponse.embeddings":    alternatives{[][]float32{}, api.CohereEmbeddings{}},
	"OllamaEmbedRequest.input":          oneOf(stringSchema, arrayOf(stringSchema)),
	"OllamaEmbedRequest.keep_alive":     oneOf(stringSchema, numberSchema),
	"OllamaEmbeddingRequest.keep_alive": oneOf(stringSchema, numberSchema),
}

var (
	stringSchema  = schemaObject{"type": "string"}
	integerSchema = schemaObject{"type": "integer"}
	numberSchema  = schemaObject{"type": "number"}
	anyObject     = schemaObject{"type": "object", "additionalProperties": true}
	// embedInputs is OpenAI's and TEI's input: text, texts, token ids, or
	// lists of token ids.
	embedInputs = oneOf(stringSchema, arrayOf(stringSchema), arrayOf(integerSchema), arrayOf(arrayOf(integerSchema)))
)

// alternatives are values of the wire types a field may hold (oneOf).
type alternatives []any

func oneOf(schemas ...schemaObject) schemaObject { return schemaObject{"oneOf": schemas} }
func arrayOf(items schemaObject) schemaObject    { return schemaObject{"type": "array", "items": items} }

var (
	timeType    = reflect.TypeFor[time.Time]()
	rawJSONType = reflect.TypeFor[json.RawMessage]()
)

// schema returns the schema of values of t, registering the named structs
// it reaches.
func (b *schemaBuilder) schema(t reflect.Type) schemaObject {
	switch t {
	case timeType:
		return schemaObject{"type": "string", "format": "date-time"}
	case rawJSONType:
		return schemaObject{} // any JSON value
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := b.schema(t.Elem())
		if _, isRef := s["$ref"]; !isRef && len(s) > 0 {
			s["nullable"] = true
		}
		return s
	case reflect.String:
		return schemaObject{"type": "string"}
	case reflect.Bool:
		return schemaObject{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return schemaObject{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return schemaObject{"type": "number"}
	case reflect.Slice, reflect.Array:
		return arrayOf(b.schema(t.Elem()))
	case reflect.Map:
		return schemaObject{"type": "object", "additionalProperties": b.schema(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" {
			return b.structSchema(t)
		}
		if _, done := b.components[t.Name()]; !done {
			b.components[t.Name()] = nil // a recursive type refers to itself
			b.components[t.Name()] = b.structSchema(t)
		}
		return schemaObject{"$ref": "#/components/schemas/" + t.Name()}
	}
	return schemaObject{} // any (interface types)
}

// structSchema lists t's fields as encoding/json names them: embedded
// structs' fields inline, "-" and unexported fields left out.
func (b *schemaBuilder) structSchema(t reflect.Type) schemaObject {
	props := map[string]schemaObject{}
	b.addFields(t, t.Name(), props)
	return schemaObject{"type": "object", "properties": props}
}

func (b *schemaBuilder) addFields(t reflect.Type, owner string, props map[string]schemaObject) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			b.addFields(f.Type, owner, props)
			continue
		}
		if name == "" {
			name = f.Name
		}
		switch s := polymorphic[owner+"."+name].(type) {
		case schemaObject:
			props[name] = s
			continue
		case alternatives:
			props[name] = b.oneOf(s)
			continue
		}
		props[name] = b.schema(f.Type)
	}
}

// oneOf is the schema of a value of one of alts' types; one alone is its
// own schema.
func (b *schemaBuilder) oneOf(alts []any) schemaObject {
	if len(alts) == 1 {
		return b.schema(reflect.TypeOf(alts[0]))
	}
	each := make([]schemaObject, len(alts))
	for i, v := range alts {
		each[i] = b.schema(reflect.TypeOf(v))
	}
	return oneOf(each...)
}
