// pool2d.wgsl's channel group where C % 4 != 0: one channel (compiled before it).
alias V = f32;
alias VU = u32;
alias VB = bool;
