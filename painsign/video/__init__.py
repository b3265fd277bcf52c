"""Video sources: recorded files now, cameras later, behind one frame iterator."""
