"""The training loop and what it optimises: batches, objectives, losses, the teacher."""
