# modeling_minimax_m2.py: SYNTHETIC PLACEHOLDER written by `reap synth`.
# A real MiniMax-M2 checkpoint ships the model's remote code here; this random checkpoint does
# not. Use transformers' built-in MiniMaxM2ForCausalLM, vLLM or `reap score` instead.
raise ImportError("synthetic reap checkpoint: no remote modeling code (use transformers' MiniMaxM2ForCausalLM)")
