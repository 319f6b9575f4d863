//lint:file-ignore ST1005 the errors are sentences shown to the admin who uploaded the file

package mobileconfig

import (
	"errors"
	"fmt"
)

// Bounds of a property list, the same for XML and binary. Real profiles
// nest a handful of levels and hold at most a few thousand values.
const (
	// maxDepth is how many arrays and dictionaries may enclose one another.
	maxDepth = 32
	// maxNodes is how many values (dictionary keys included) a property list
	// may hold once every reference is followed: a binary plist object
	// reached through two references counts twice.
	maxNodes = 20000
)

var (
	errTooManyNodes = fmt.Errorf("The profile holds more than %d values (counting each reference to a shared value), far more than a configuration profile needs; it is refused.", maxNodes)
	errTooDeep      = fmt.Errorf("The profile nests arrays and dictionaries more than %d levels deep, far more than a configuration profile needs; it is refused.", maxDepth)
	errCycle        = errors.New("The profile's binary property list is damaged: an array or dictionary contains itself.")
)

// kind is the type of a property-list value.
type kind uint8

const (
	kindString kind = iota + 1
	kindInteger
	kindReal
	kindBool
	kindDate
	kindData
	kindUID  // binary only (NSKeyedArchiver); no profile uses it
	kindNull // binary only
	kindArray
	kindDict
)

// String names the kind for an error message, with its article.
func (k kind) String() string {
	switch k {
	case kindString:
		return "a string"
	case kindInteger:
		return "an integer"
	case kindReal:
		return "a real number"
	case kindBool:
		return "true or false"
	case kindDate:
		return "a date"
	case kindData:
		return "data"
	case kindUID:
		return "a UID"
	case kindNull:
		return "null"
	case kindArray:
		return "an array"
	case kindDict:
		return "a dictionary"
	}
	return "nothing"
}

// value is one parsed property-list value. Numbers, dates and data are
// checked for form but keep only their kind: nothing Check reports needs
// them.
type value struct {
	kind kind
	s    string   // kindString
	b    bool     // kindBool
	list []value  // kindArray: the elements; kindDict: the values
	keys []string // kindDict: the keys, one for each entry of list
}

// lookup returns the value under key in a dictionary, or nil.
func (v *value) lookup(key string) *value {
	for i, k := range v.keys {
		if k == key {
			return &v.list[i]
		}
	}
	return nil
}

// budget counts the values a parser has produced against maxNodes.
type budget struct{ nodes int }

// take accounts for n more values.
func (b *budget) take(n int) error {
	if n > maxNodes-b.nodes {
		return errTooManyNodes
	}
	b.nodes += n
	return nil
}

// left is how many more values the budget allows.
func (b *budget) left() int { return maxNodes - b.nodes }
