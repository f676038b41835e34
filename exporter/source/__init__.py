"""The model as given: its files, and what it declares (pooling, tokenizer, max length)."""
