//go:build arm64

package probe

// setRegs puts r where a uprobe on arm64 finds it (struct user_pt_regs).
func setRegs(in *bpftestInput, r regs) {
	copy(in.Regs.Regs[:4], r.args[:])
	in.Regs.Regs[26] = r.ctxt
	in.Regs.Regs[28] = r.g
	in.Regs.Regs[29] = r.fp
	in.Regs.Regs[30] = r.lr
	in.Regs.Pc = r.ip
	in.Regs.Sp = r.sp
}
