"""The budget-adjustment process (预算调整): increases, decreases and transfers between budget lines."""
