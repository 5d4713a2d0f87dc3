# configuration_minimax_m2.py: SYNTHETIC PLACEHOLDER written by `reap synth`.
# A real MiniMax-M2 checkpoint ships the model's remote-code configuration here. This random
# checkpoint only carries the file so its layout matches; load it with transformers'
# built-in MiniMaxM2ForCausalLM (no trust_remote_code needed).
from transformers import PretrainedConfig


class MiniMaxM2Config(PretrainedConfig):
    model_type = "minimax_m2"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
