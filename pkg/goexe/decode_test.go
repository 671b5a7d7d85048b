package goexe

import (
	"encoding/binary"
	"testing"
)

func TestDecodeX86(t *testing.T) {
	const pc = 0x1000
	cases := []struct {
		code []byte
		want Inst // Addr, Len, Raw and Text are not compared
		text string
	}{
		{[]byte{0x49, 0x3b, 0x66, 0x10}, Inst{Op: "CMP"}, "CMPQ SP, 0x10(R14)"},
		{[]byte{0x0f, 0x86, 0xf6, 0x01, 0x00, 0x00}, Inst{Op: "JBE", CondJump: true, Target: pc + 6 + 0x1f6, Emulated: true}, "JBE 0x11fc"},
		{[]byte{0x76, 0x05}, Inst{Op: "JBE", CondJump: true, Target: pc + 2 + 5, Emulated: true}, ""},
		{[]byte{0xeb, 0xfe}, Inst{Op: "JMP", Target: pc, Emulated: true}, ""},
		{[]byte{0xe8, 0x10, 0x00, 0x00, 0x00}, Inst{Op: "CALL", Call: true, Target: pc + 5 + 0x10, Emulated: true}, ""},
		{[]byte{0xff, 0xd1}, Inst{Op: "CALL", Call: true, Indirect: true}, "CALL CX"},
		{[]byte{0xff, 0xe0}, Inst{Op: "JMP", Indirect: true}, "JMP AX"},
		{[]byte{0xff, 0x15, 0x10, 0x00, 0x00, 0x00}, Inst{Op: "CALL", Call: true, Indirect: true, MemRef: pc + 6 + 0x10, Load: true, MemSize: 8}, ""},
		{[]byte{0x55}, Inst{Op: "PUSH", Emulated: true}, "PUSHQ BP"},
		{[]byte{0x41, 0x54}, Inst{Op: "PUSH", Emulated: true}, "PUSHQ R12"},
		{[]byte{0x90}, Inst{Op: "NOP", Emulated: true}, ""},
		{[]byte{0x66, 0x90}, Inst{Op: "NOP", Emulated: true}, ""},
		{[]byte{0x0f, 0x1f, 0x00}, Inst{Op: "NOP"}, ""},
		{[]byte{0x48, 0x89, 0xe5}, Inst{Op: "MOV"}, "MOVQ SP, BP"},
		{[]byte{0x48, 0x8d, 0x05, 0x10, 0x00, 0x00, 0x00}, Inst{Op: "LEA", MemRef: pc + 7 + 0x10, LoadAddr: true}, ""},
		{[]byte{0x48, 0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff}, Inst{Op: "MOV", MemRef: pc + 7 - 0x10, Load: true, MemSize: 8}, ""},
		{[]byte{0x48, 0x89, 0x05, 0x10, 0x00, 0x00, 0x00}, Inst{Op: "MOV", MemRef: pc + 7 + 0x10, Store: true, MemSize: 8}, ""},
		{[]byte{0x83, 0x3d, 0x10, 0x00, 0x00, 0x00, 0x00}, Inst{Op: "CMP", MemRef: pc + 7 + 0x10, Load: true, MemSize: 4}, ""},
		{[]byte{0xf0, 0x0f, 0xb1, 0x0d, 0x10, 0x00, 0x00, 0x00}, Inst{Op: "CMPXCHG", MemRef: pc + 8 + 0x10, Load: true, Store: true, MemSize: 4, Locked: true}, ""},
		{[]byte{0xf0, 0x09, 0x0b}, Inst{Op: "OR", Locked: true}, "LOCK ORL CX, 0(BX)"},
		{[]byte{0xcc}, Inst{Op: "INT"}, "INT $0x3"},
	}
	for _, c := range cases {
		got := decode(AMD64, c.code, pc, nil)
		if len(got) != 1 {
			t.Errorf("% x: %d instructions", c.code, len(got))
			continue
		}
		g := got[0]
		if g.Addr != pc || g.Len != len(c.code) || g.Raw == nil {
			t.Errorf("% x: Addr %#x Len %d", c.code, g.Addr, g.Len)
		}
		if c.text != "" && g.Text != c.text {
			t.Errorf("% x: Text %q, want %q", c.code, g.Text, c.text)
		}
		g.Addr, g.Len, g.Raw, g.Text = 0, 0, nil, ""
		if g != c.want {
			t.Errorf("% x:\n got %+v\nwant %+v", c.code, g, c.want)
		}
	}
}

func TestDecodeX86Stream(t *testing.T) {
	// An unknown byte becomes a 1-byte "?" and decoding continues in sync.
	code := []byte{0x0f, 0x0e /* FEMMS: not decoded */, 0x49, 0x3b, 0x66, 0x10, 0xcc}
	got := decode(AMD64, code, 0x2000, nil)
	total := 0
	for _, in := range got {
		total += in.Len
	}
	if total != len(code) || len(got) != 4 || !got[0].Unknown() || !isPadding(got[3]) {
		t.Errorf("decoded %+v", got)
	}
}

func TestDecodeARM64(t *testing.T) {
	const pc = 0x10004
	words := []uint32{
		0xf9400b90, // MOVD 16(R28), R16
		0xeb3063ff, // CMP R16, RSP
		0x54001349, // BLS +0x268
		0x94000010, // BL +0x40
		0xd63f0040, // BLR X2 (CALL (R2))
		0xb0000001, // ADRP X1, +0x1000
		0x91004021, // ADD X1, X1, #0x10
		0xb0000001, // ADRP X1, +0x1000
		0xf9400422, // LDR X2, [X1, #8]
		0xb0000001, // ADRP X1, +0x1000
		0xb9000423, // STR W3, [X1, #4]
		0xb8e50026, // LDADDAL W5, W6, [X1]: not known to arm64asm
		0xd503201f, // NOP
		0x00000000, // padding
		0xb000001b, // ADRP X27, +0x1000
		0x9100437b, // ADD X27, X27, #0x10
		0xa9400b61, // LDP X1, X2, [X27]
	}
	code := make([]byte, 4*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint32(code[4*i:], w)
	}
	got := decode(ARM64, code, pc, nil)
	if len(got) != len(words) {
		t.Fatalf("%d instructions", len(got))
	}
	at := func(i int) uint64 { return pc + 4*uint64(i) }
	page := uint64(pc)&^0xfff + 0x1000
	want := []Inst{
		{Op: "LDR"},
		{Op: "CMP"},
		{Op: "B.LS", CondJump: true, Target: at(2) + 0x268, Emulated: true},
		{Op: "BL", Call: true, Target: at(3) + 0x40, Emulated: true},
		{Op: "BLR", Call: true, Indirect: true, Emulated: true},
		{Op: "ADRP", Emulated: true},
		{Op: "ADD", MemRef: page + 0x10, LoadAddr: true},
		{Op: "ADRP", Emulated: true},
		{Op: "LDR", MemRef: page + 8, Load: true, MemSize: 8},
		{Op: "ADRP", Emulated: true},
		{Op: "STR", MemRef: page + 4, Store: true, MemSize: 4},
		{Op: "?"},
		{Op: "NOP"},
		{Op: "?"},
		{Op: "ADRP", Emulated: true},
		{Op: "ADD", MemRef: page + 0x10, LoadAddr: true},
		{Op: "LDP", MemRef: page + 0x10, Load: true, MemSize: 16},
	}
	texts := map[int]string{0: "MOVD 16(R28), R16", 1: "CMP R16, RSP", 4: "CALL (R2)", 11: "? 0xb8e50026"}
	for i, g := range got {
		if g.Addr != at(i) || g.Len != 4 {
			t.Errorf("%d: Addr %#x Len %d", i, g.Addr, g.Len)
		}
		if s, ok := texts[i]; ok && g.Text != s {
			t.Errorf("%d: Text %q, want %q", i, g.Text, s)
		}
		g.Addr, g.Len, g.Raw, g.Text = 0, 0, nil, ""
		if g != want[i] {
			t.Errorf("%d (%#08x):\n got %+v\nwant %+v", i, words[i], g, want[i])
		}
	}
	if !isPadding(got[13]) || isPadding(got[11]) || arm64BranchGroup(got[11]) {
		t.Error("padding / unknown-word classification")
	}
}
