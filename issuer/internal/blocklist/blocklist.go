// Package blocklist is the offline breached-password list: Compile turns a
// Pwned Passwords SHA-1 download (lines HEX:COUNT), a list of SHA-1 hashes
// or a list of plain passwords into a compact sorted file, and Open maps
// that file into memory so that Contains is a binary search over pages the
// kernel loads on demand: the process's heap does not grow with the list.
//
// The file is a 32-byte header and then the entries:
//
//	offset size
//	0      8    magic "MIBLKLST"
//	8      4    version, 1 (little-endian, as every header field)
//	12     4    entry size in bytes, 8
//	16     8    number of entries
//	24     4    CRC-32C of the entries
//	28     4    CRC-32C of bytes 0-27
//
// Each entry is the first 8 bytes of the password's SHA-1, big-endian,
// strictly increasing. Eight bytes keep the file at 40% of the full hashes'
// size; with the whole Pwned Passwords list (under 2^30 entries) a password
// not on it is refused by a prefix collision with odds below 1 in 2^34.
package blocklist

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"syscall"
)

const (
	magic      = "MIBLKLST"
	version    = 1
	entrySize  = 8
	headerSize = 32
)

// ErrCorrupt: the file is not a blocklist, is of another version, is cut
// short or longer than its header says, or its entries fail their checksum
// or are out of order.
var ErrCorrupt = errors.New("blocklist file is corrupt")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// List is an open blocklist. It is safe for concurrent use.
type List struct {
	data    []byte // the whole mapped file
	entries []byte // data[headerSize:]
	n       int
}

// Open maps the blocklist at path and checks it: header, size, checksum and
// order, read once through the file (not the mapping, so the check leaves
// no pages resident in this process). A bad file is ErrCorrupt.
func Open(path string) (*List, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open blocklist: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open blocklist: %w", err)
	}
	n, err := verify(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.Size() == headerSize {
		return &List{}, nil
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map blocklist: %w", err)
	}
	// A lookup touches a few scattered pages: read-ahead would only fill
	// memory with neighbours never asked for.
	_ = syscall.Madvise(data, syscall.MADV_RANDOM)
	return &List{data: data, entries: data[headerSize:], n: n}, nil
}

// verify reads the header and the entries through r and returns the count.
func verify(r io.Reader, size int64) (int, error) {
	var h [headerSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, fmt.Errorf("%w: no header", ErrCorrupt)
	}
	switch {
	case string(h[:8]) != magic:
		return 0, fmt.Errorf("%w: not a blocklist (compile one with `issuer passwords compile-blocklist`)", ErrCorrupt)
	case binary.LittleEndian.Uint32(h[28:]) != crc32.Checksum(h[:28], castagnoli):
		return 0, fmt.Errorf("%w: header checksum", ErrCorrupt)
	case binary.LittleEndian.Uint32(h[8:]) != version || binary.LittleEndian.Uint32(h[12:]) != entrySize:
		return 0, fmt.Errorf("%w: version %d with %d-byte entries, want %d with %d", ErrCorrupt,
			binary.LittleEndian.Uint32(h[8:]), binary.LittleEndian.Uint32(h[12:]), version, entrySize)
	}
	count := binary.LittleEndian.Uint64(h[16:])
	if count > uint64(size) || headerSize+count*entrySize != uint64(size) {
		return 0, fmt.Errorf("%w: %d entries in a file of %d bytes", ErrCorrupt, count, size)
	}
	crc := uint32(0)
	var prev uint64
	buf := make([]byte, 1<<20)
	for read := uint64(0); read < count; {
		chunk := buf[:min(uint64(len(buf))/entrySize, count-read)*entrySize]
		if _, err := io.ReadFull(r, chunk); err != nil {
			return 0, fmt.Errorf("%w: cut short", ErrCorrupt)
		}
		crc = crc32.Update(crc, castagnoli, chunk)
		for i := 0; i < len(chunk); i += entrySize {
			v := binary.BigEndian.Uint64(chunk[i:])
			if read > 0 && v <= prev {
				return 0, fmt.Errorf("%w: entries out of order", ErrCorrupt)
			}
			prev = v
			read++
		}
	}
	if crc != binary.LittleEndian.Uint32(h[24:]) {
		return 0, fmt.Errorf("%w: entries checksum", ErrCorrupt)
	}
	return int(count), nil
}

// Len is the number of entries.
func (l *List) Len() int { return l.n }

// Contains reports whether password is on the list (by its SHA-1's first
// eight bytes).
func (l *List) Contains(password string) bool {
	sum := sha1.Sum([]byte(password))
	return l.containsKey(binary.BigEndian.Uint64(sum[:]))
}

func (l *List) containsKey(key uint64) bool {
	lo, hi := 0, l.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		v := binary.BigEndian.Uint64(l.entries[mid*entrySize:])
		switch {
		case v == key:
			return true
		case v < key:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return false
}

// Close unmaps the file.
func (l *List) Close() error {
	if l.data == nil {
		return nil
	}
	err := syscall.Munmap(l.data)
	l.data, l.entries, l.n = nil, nil, 0
	return err
}

// keyOf reads one input line: a SHA-1 in hex (40 digits, any case),
// optionally followed by ":COUNT" as in the Pwned Passwords download, or
// else a plain password, hashed here. Empty lines give ok false.
func keyOf(line []byte) (key uint64, ok bool) {
	line = bytes.TrimRight(line, "\r")
	if len(line) == 0 {
		return 0, false
	}
	if hexPart, count, _ := bytes.Cut(line, []byte(":")); len(hexPart) == 2*sha1.Size && allDigits(count) {
		var sum [sha1.Size]byte
		if _, err := hex.Decode(sum[:], hexPart); err == nil {
			return binary.BigEndian.Uint64(sum[:]), true
		}
	}
	sum := sha1.Sum(line)
	return binary.BigEndian.Uint64(sum[:]), true
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Stats is what Compile read and wrote.
type Stats struct {
	Lines   int // non-empty input lines
	Entries int // distinct entries written
}

// Compile reads lines from in and writes the blocklist to out, which must
// be a new file (it is written in place, then its header). Input already
// in hash order (the Pwned Passwords download is) streams through in
// constant memory; any other input is sorted in memory, 8 bytes a line.
func Compile(in io.Reader, out *os.File) (Stats, error) {
	var st Stats
	w := bufio.NewWriterSize(out, 1<<20)
	if _, err := w.Write(make([]byte, headerSize)); err != nil {
		return st, err
	}
	var (
		crc      uint32
		prev     uint64
		streamed int      // entries written while the input was in order
		pending  []uint64 // the rest, once the input was out of order
		entry    [entrySize]byte
	)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		key, ok := keyOf(sc.Bytes())
		if !ok {
			continue
		}
		st.Lines++
		switch {
		case pending != nil:
			pending = append(pending, key)
		case streamed > 0 && key == prev:
		case streamed > 0 && key < prev:
			pending = append(make([]uint64, 0, 1<<16), key)
		default:
			binary.BigEndian.PutUint64(entry[:], key)
			crc = crc32.Update(crc, castagnoli, entry[:])
			if _, err := w.Write(entry[:]); err != nil {
				return st, err
			}
			prev = key
			streamed++
		}
	}
	if err := sc.Err(); err != nil {
		return st, fmt.Errorf("read input: %w", err)
	}
	if err := w.Flush(); err != nil {
		return st, err
	}
	count := streamed
	if pending != nil {
		// Out of order: read back what was streamed, sort everything and
		// write it again.
		var err error
		if pending, err = readBack(out, streamed, pending); err != nil {
			return st, err
		}
		slices.Sort(pending)
		pending = slices.Compact(pending)
		if _, err := out.Seek(headerSize, io.SeekStart); err != nil {
			return st, err
		}
		w.Reset(out)
		crc = 0
		for _, key := range pending {
			binary.BigEndian.PutUint64(entry[:], key)
			crc = crc32.Update(crc, castagnoli, entry[:])
			if _, err := w.Write(entry[:]); err != nil {
				return st, err
			}
		}
		if err := w.Flush(); err != nil {
			return st, err
		}
		count = len(pending)
	}
	if err := out.Truncate(headerSize + int64(count)*entrySize); err != nil {
		return st, err
	}
	var h [headerSize]byte
	copy(h[:], magic)
	binary.LittleEndian.PutUint32(h[8:], version)
	binary.LittleEndian.PutUint32(h[12:], entrySize)
	binary.LittleEndian.PutUint64(h[16:], uint64(count))
	binary.LittleEndian.PutUint32(h[24:], crc)
	binary.LittleEndian.PutUint32(h[28:], crc32.Checksum(h[:28], castagnoli))
	if _, err := out.WriteAt(h[:], 0); err != nil {
		return st, err
	}
	st.Entries = count
	return st, out.Sync()
}

func readBack(f *os.File, n int, more []uint64) ([]uint64, error) {
	keys := make([]uint64, 0, n+len(more))
	r := bufio.NewReaderSize(io.NewSectionReader(f, headerSize, int64(n)*entrySize), 1<<20)
	var entry [entrySize]byte
	for range n {
		if _, err := io.ReadFull(r, entry[:]); err != nil {
			return nil, fmt.Errorf("read back entries: %w", err)
		}
		keys = append(keys, binary.BigEndian.Uint64(entry[:]))
	}
	return append(keys, more...), nil
}
