// pool2d.wgsl's channel group where C % 4 == 0: 4 channels as one vec4 (compiled before it).
alias V = vec4f;
alias VU = vec4u;
alias VB = vec4<bool>;
