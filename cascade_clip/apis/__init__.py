from .experiment import (init_cpu_distributed, parse_eval, test_config,
                         train_config)

__all__ = ['init_cpu_distributed', 'parse_eval', 'test_config', 'train_config']
